/**
 * A hardhat 2 node (chain id 31337, ten funded, unlocked accounts) as a child process, for tests.
 * The hardhat CLI runs straight under this Node (not through npx), in its own process group,
 * so stop() ends exactly what was started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { fileURLToPath } from 'node:url';

export interface HardhatNode {
  /** http://127.0.0.1:port */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface HardhatNodeOptions {
  /** Where hardhat.config.cjs is, and where hardhat is installed. Default: the repository root. */
  cwd?: string;
  /** Another config file (hardhat --config); hardhat itself must still be installed in `cwd`. */
  config?: string;
  readyTimeoutMs?: number;
  /** A fixed port (npm start uses 8545, the extension's default); otherwise a free one. */
  port?: number;
  /** Default 31337. */
  chainId?: number;
}

/** The account hardhat funds first, from its published test mnemonic. Public knowledge: for local chains only. */
export const HARDHAT_MNEMONIC = 'test test test test test test test test test test test junk';
export const HARDHAT_CHAIN_ID = 31337;

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUTPUT_KEPT = 4096;

export async function startHardhatNode(options: HardhatNodeOptions = {}): Promise<HardhatNode> {
  // A free port can be taken between the probe and hardhat's bind: try again with another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(options.port ?? (await freePort()), options);
    } catch (error) {
      if (options.port !== undefined || attempt >= 3 || !String((error as Error).message).includes('EADDRINUSE')) throw error;
    }
  }
}

async function launch(port: number, options: HardhatNodeOptions): Promise<HardhatNode> {
  // Hardhat runs only as the copy installed where it runs (HH12 otherwise).
  const bootstrap = createRequire(options.cwd ? join(options.cwd, 'package.json') : import.meta.url).resolve('hardhat/internal/cli/bootstrap.js');
  const child = spawn(process.execPath, [bootstrap, ...(options.config ? ['--config', options.config] : []), 'node', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: options.cwd ?? REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', TANDEM_CHAIN_ID: String(options.chainId ?? HARDHAT_CHAIN_ID) },
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const killOnExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (hasExited) return;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (!(await answersChainId(url, options.chainId ?? HARDHAT_CHAIN_ID))) {
    if (hasExited) {
      await stop();
      throw new Error(`hardhat node exited before it was ready:\n${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`hardhat node did not answer eth_chainId on ${url} in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, port, stop };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

async function answersChainId(url: string, chainId: number): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await response.json()) as { result?: string };
    return body.result !== undefined && Number(body.result) === chainId;
  } catch {
    return false;
  }
}
