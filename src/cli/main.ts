#!/usr/bin/env node
import { buildProgram } from './program';
import { CliError, reportError } from './errors';

async function main(): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (error) {
    reportError(error, program.opts<{ json?: boolean }>().json === true);
    return error instanceof CliError ? error.exitCode : 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
