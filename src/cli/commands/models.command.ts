import { Command } from 'commander';

import type { Model } from '../api-types';
import { contextOf } from '../context';
import { printJson, stdout, table } from '../output';

export function modelsCommand(): Command {
  return new Command('models')
    .description('list model aliases and whether each is usable now (* = the default)')
    .action(async (_options: object, command: Command) => {
      const { client, json } = contextOf(command);
      const list = await client.get<{ data: Model[] }>('/models');
      if (json) return printJson(list);
      const rows = list.data.map((model) => [
        `${model.alias}${model.default ? ' *' : ''}`,
        model.provider,
        String(model.contextWindow),
        model.available ? 'yes' : `no${model.reason ? ` (${model.reason})` : ''}`,
      ]);
      stdout(table(['ALIAS', 'PROVIDER', 'CONTEXT', 'AVAILABLE'], rows));
    });
}
