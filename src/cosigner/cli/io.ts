export interface CliIo {
  /** One line (or block) of normal output; a newline is added. */
  stdout(text: string): void;
  /** Errors and progress; a newline is added. */
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(`${text}\n`),
    stderr: (text) => void process.stderr.write(`${text}\n`),
    env: process.env,
  };
}
