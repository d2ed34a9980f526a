/**
 * Starts bench/e2e/cosigner-process.ts as a child process and reads what it prints, so the
 * benchmark can talk to a co-signer that has its own event loop and measure its memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { BenchError } from './errors.js';
import type { TraceEvent } from './trace.js';

const ENTRY = fileURLToPath(new URL('./cosigner-process.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;
/** The master key cosigner-process.ts starts with: a throwaway for benchmark data only. */
export const COSIGNER_MASTER_KEY_HEX = '11'.repeat(32);

export interface CosignerChildOptions {
  dataDir: string;
  /** Time the co-signer's MPC, channel and store calls, reported to `onTrace` (see cosigner-process.ts). */
  trace?: boolean;
  /** Lets cpuProfile() write the child's V8 CPU profile into this directory. */
  cpuProfileDir?: string;
  /** Every stderr line of the child that is not a trace line. */
  onLog?: (line: string) => void;
  onTrace?: (event: TraceEvent) => void;
}

export interface CosignerChild {
  url: string;
  brokerUrl: string;
  certPem: string;
  pid: number;
  /** Resident set size of the co-signer process (VmRSS), in MB. */
  rssMb(): number;
  /** Open file descriptors of the co-signer process (sockets included). */
  openFds(): number;
  /** Starts a CPU profile in the child; the returned function stops it and gives the .cpuprofile path. Needs cpuProfileDir. */
  cpuProfile(): Promise<() => Promise<string>>;
  stop(): Promise<void>;
}

export async function startCosignerChild(options: CosignerChildOptions): Promise<CosignerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, options.dataDir], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, BENCH_E2E_TRACE: options.trace ? '1' : '0', ...(options.cpuProfileDir ? { BENCH_E2E_PROFILE_DIR: options.cpuProfileDir } : {}) },
  });
  const signals = new Set<(message: Record<string, unknown>) => void>();
  const stderrLines = createInterface({ input: child.stderr! });
  const recent: string[] = [];
  stderrLines.on('line', (line) => {
    if (options.onTrace && line.startsWith('{"trace"')) {
      options.onTrace((JSON.parse(line) as { trace: TraceEvent }).trace);
      return;
    }
    if (line.startsWith('{"profil')) {
      for (const listener of signals) listener(JSON.parse(line) as Record<string, unknown>);
      return;
    }
    recent.push(line);
    if (recent.length > 20) recent.shift();
    options.onLog?.(line);
  });

  let ready: { url: string; brokerUrl: string; certPem: string; pid: number };
  try {
    ready = await readFirstLine(child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new BenchError('BENCH_COSIGNER_START', 'The co-signer child process did not start.', { details: recent.join('\n'), cause: error });
  }
  const pid = ready.pid;
  return {
    url: ready.url,
    brokerUrl: ready.brokerUrl,
    certPem: ready.certPem,
    pid,
    rssMb: () => readRssMb(pid),
    openFds: () => readdirSync(`/proc/${pid}/fd`).length,
    cpuProfile: async () => {
      const next = () =>
        new Promise<Record<string, unknown>>((resolve) => {
          const listener = (message: Record<string, unknown>) => {
            signals.delete(listener);
            resolve(message);
          };
          signals.add(listener);
        });
      const started = next();
      child.kill('SIGUSR2');
      await started;
      return async () => {
        const written = next();
        child.kill('SIGUSR2');
        return String((await written).profiled);
      };
    },
    stop: () => stopChild(child),
  };
}

function readFirstLine(child: ChildProcess): Promise<{ url: string; brokerUrl: string; certPem: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`no ready line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code}`));
    };
    child.once('exit', onExit);
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      try {
        resolve(JSON.parse(line) as { url: string; brokerUrl: string; certPem: string; pid: number });
      } catch (error) {
        reject(error);
      }
    });
  });
}

export function readRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new BenchError('BENCH_PROC', `No VmRSS in /proc/${pid}/status.`);
  return Number(match[1]) / 1024;
}

/** Closes the child's stdin (it stops itself), then SIGTERM, then SIGKILL. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const within = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
  if (await within(10_000)) return;
  child.kill('SIGTERM');
  if (await within(5_000)) return;
  child.kill('SIGKILL');
  await exited;
}
