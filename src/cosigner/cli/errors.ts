import { CodedError } from '../../mpc/errors.js';

/** Something the operator has to fix. `exitCode` 1 for a failed command, 2 for a wrong command line. */
export class CosignerCliError extends CodedError {
  override name = 'CosignerCliError';
  readonly exitCode: number;

  constructor(code: string, shortMessage: string, options: { details?: string; cause?: unknown; exitCode?: number } = {}) {
    super(code, shortMessage, options);
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
