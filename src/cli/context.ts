import { type Command, InvalidArgumentError } from 'commander';

import { ApiClient } from './api-client';

export interface GlobalOptions {
  url: string;
  token?: string;
  apiKey?: string;
  json?: boolean;
}

export interface CliContext {
  client: ApiClient;
  json: boolean;
}

/** The client and output mode from the options given before or after the subcommand. */
export function contextOf(command: Command): CliContext {
  const { url, token, apiKey, json } = command.optsWithGlobals<GlobalOptions>();
  return { client: new ApiClient({ url, token, apiKey }), json: json === true };
}

export function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL (e.g. http://localhost:3000)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('must be an http:// or https:// URL');
  return value;
}

export function parsePositiveInt(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1)
    throw new InvalidArgumentError('must be a whole number from 1');
  return number;
}
