import { MASTER_KEY_ENV } from '../store/master-key.js';
import { DATA_DIR_ENV, PROGRAM, type Command } from './command.js';
import { COMMANDS } from './commands.js';
import { formatRows } from './format.js';
import { ENROLLMENT_CODE_ENV } from './start.js';

export function mainHelp(): string {
  const lines = [
    'Tandem co-signer: holds one key share of each wallet and signs together with its device.',
    '',
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    ...formatRows(COMMANDS.map((c) => [`  ${c.name}`, c.summary])),
    '',
    `Every command takes --help. With no command, ${PROGRAM} runs start.`,
    `Environment: ${DATA_DIR_ENV}, ${MASTER_KEY_ENV}, ${ENROLLMENT_CODE_ENV}, TANDEM_DEBUG (print stack traces).`,
  ];
  return lines.join('\n');
}

export function groupCommands(group: string): Command[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `));
}

export function groupHelp(group: string): string {
  return [`Usage: ${PROGRAM} ${group} <command> [options]`, '', 'Commands:', ...formatRows(groupCommands(group).map((c) => [`  ${c.name}`, c.summary]))].join('\n');
}

export function commandHelp(command: Command): string {
  return [
    `Usage: ${PROGRAM} ${command.usage}`,
    '',
    command.summary,
    '',
    'Options:',
    ...formatRows(command.help.map(([flag, text]) => (flag ? [`  ${flag}`, text] : [`\n${text}`, '']))),
  ].join('\n');
}
