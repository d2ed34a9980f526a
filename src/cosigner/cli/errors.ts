/** Something the operator has to fix. `exitCode` 1 for a failed command, 2 for a wrong command line. */
export class CosignerCliError extends Error {
  override name = 'CosignerCliError';
  readonly code: string;
  readonly shortMessage: string;
  readonly exitCode: number;

  constructor(code: string, shortMessage: string, options: { details?: string; cause?: unknown; exitCode?: number } = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** The command line itself is wrong: unknown command or flag, missing or malformed argument. Exit code 2. */
export class CliUsageError extends CosignerCliError {
  override name = 'CliUsageError';
  /** The command whose --help explains the fix. */
  readonly command: string | undefined;
  constructor(shortMessage: string, command?: string) {
    super('CLI_USAGE', shortMessage, { exitCode: 2 });
    this.command = command;
  }
}
