import { parseArgs } from 'node:util';
import { PROGRAM, type Command, type Values } from './command.js';
import { COMMANDS, GROUPS } from './commands.js';
import { CliUsageError, CosignerCliError } from './errors.js';
import { commandHelp, groupCommands, groupHelp, mainHelp } from './help.js';
import { processIo, type CliIo } from './io.js';
import { startCommand } from './start.js';

/** Runs one command line; resolves to the process exit code. `start` resolves only after a signal stopped it. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let command: Command | undefined;
  try {
    const [first, second] = argv;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      if (first === undefined) return await runCommand((command = startCommand), [], io);
      io.stdout(mainHelp());
      return 0;
    }
    if (first.startsWith('-')) return await runCommand((command = startCommand), argv, io);
    if ((GROUPS as readonly string[]).includes(first)) {
      if (second === undefined) {
        io.stderr(groupHelp(first));
        return 2;
      }
      if (second === '--help' || second === '-h') {
        io.stdout(groupHelp(first));
        return 0;
      }
      command = COMMANDS.find((c) => c.name === `${first} ${second}`);
      if (!command) throw new CliUsageError(`Unknown command "${first} ${second}". The ${first} commands: ${groupCommands(first).map((c) => c.name).join(', ')}.`, first);
      return await runCommand(command, argv.slice(2), io);
    }
    command = COMMANDS.find((c) => c.name === first);
    if (!command) throw new CliUsageError(`Unknown command "${first}". Commands: ${[...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))].join(', ')}.`);
    return await runCommand(command, argv.slice(1), io);
  } catch (error) {
    return reportError(error, io, command);
  }
}

async function runCommand(command: Command, args: readonly string[], io: CliIo): Promise<number> {
  // Before parsing, so --help works even next to a flag that would not parse.
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(commandHelp(command));
    return 0;
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: command.options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (cause) {
    throw new CliUsageError((cause as Error).message, command.name);
  }
  const { values, positionals } = parsed;
  if (positionals.length < command.positionals.length) {
    throw new CliUsageError(`Missing <${command.positionals[positionals.length]}>. Usage: ${PROGRAM} ${command.usage}`, command.name);
  }
  if (positionals.length > command.positionals.length) {
    throw new CliUsageError(`Unexpected argument "${positionals[command.positionals.length]}". Usage: ${PROGRAM} ${command.usage}`, command.name);
  }
  return command.run(values, positionals, io);
}

function reportError(error: unknown, io: CliIo, command: Command | undefined): number {
  const typed = error as { shortMessage?: unknown; message?: unknown };
  const message = typeof typed.message === 'string' ? typed.message : String(error);
  const short = typeof typed.shortMessage === 'string' ? typed.shortMessage : message;
  io.stderr(`error: ${short}`);
  // Typed errors put what to do next after their short message ("Details: ..."): keep it.
  const rest = message.startsWith(short) ? message.slice(short.length).trim() : '';
  if (rest) io.stderr(rest);
  if (error instanceof CliUsageError) {
    const topic = error.command ?? command?.name;
    io.stderr(`Run \`${PROGRAM} ${topic ? `${topic} ` : ''}--help\` for usage.`);
    return error.exitCode;
  }
  if (io.env.TANDEM_DEBUG && error instanceof Error && error.stack) io.stderr(error.stack);
  return error instanceof CosignerCliError ? error.exitCode : 1;
}
