/** Runs the client CLI as a real child process (node --import tsx src/client/cli.ts), for tests. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface CliRun {
  /** The exit code; null when the process was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when it had not exited after timeoutMs and was killed. */
  timedOut: boolean;
}

export interface CliRunOptions {
  /** Written to the CLI's stdin, which is then closed. */
  stdin?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

const CLI_PATH = fileURLToPath(new URL('../cli.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_PATH, ...args], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // A CLI that does not exit on its own (a connection left open) is a failure the caller must see.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
