/**
 * Bench-only entry: one co-signer (embedded broker, SQLite store) in its own process, so the
 * benchmark's devices and the co-signer do not share one event loop, and its RSS is its own.
 *
 *   node --import tsx bench/e2e/cosigner-process.ts <dataDir>
 *
 * Prints one JSON line {url, brokerUrl, certPem, pid} on stdout once it serves, then runs until
 * stdin closes or SIGTERM/SIGINT. With BENCH_E2E_TRACE=1 it also writes one JSON line per traced
 * call to stderr ({"trace":{name,start,end}}) for the signature profile (bench/e2e/profile.ts).
 * With BENCH_E2E_PROFILE_DIR set, SIGUSR2 starts a V8 CPU profile and the next SIGUSR2 writes it to
 * <dir>/cosigner.cpuprofile and says {"profiled":<path>} on stderr.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCosigner } from '../../src/cosigner/service.js';
import { COSIGNER_MASTER_KEY_HEX } from './cosigner-child.js';
import { startCpuProfile } from './inspector-profiler.js';
import { traceObject, type TraceEvent } from './trace.js';
import { traceStack } from './trace-stack.js';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: cosigner-process.ts <dataDir>\n');
  process.exit(2);
}
const verbose = process.env.BENCH_E2E_VERBOSE === '1';
const tracing = process.env.BENCH_E2E_TRACE === '1';
const sink = (event: TraceEvent) => process.stderr.write(`${JSON.stringify({ trace: event })}\n`);
if (tracing) traceStack(sink);

const cosigner = await startCosigner({
  dataDir,
  port: 0,
  // A fixed test key: the data directory is temporary and thrown away after the run.
  env: { TANDEM_MASTER_KEY: COSIGNER_MASTER_KEY_HEX },
  enrollLimit: { limit: 100_000, windowMs: 60_000 },
  log: (line) => {
    if (verbose) process.stderr.write(`cosigner: ${line}\n`);
  },
});
if (tracing) {
  traceObject(cosigner.store, 'store', sink);
  traceObject(cosigner.store.audit, 'audit', sink);
}

const profileDir = process.env.BENCH_E2E_PROFILE_DIR;
if (profileDir) {
  let stopProfile: (() => Promise<unknown>) | undefined;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!stopProfile) {
        stopProfile = await startCpuProfile();
        process.stderr.write(`${JSON.stringify({ profiling: true })}\n`);
        return;
      }
      const profile = await stopProfile();
      stopProfile = undefined;
      const path = join(profileDir, 'cosigner.cpuprofile');
      writeFileSync(path, JSON.stringify(profile));
      process.stderr.write(`${JSON.stringify({ profiled: path })}\n`);
    })();
  });
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await cosigner.stop().catch(() => undefined);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ url: cosigner.url, brokerUrl: cosigner.brokerUrl, certPem: cosigner.certPem, pid: process.pid })}\n`);
