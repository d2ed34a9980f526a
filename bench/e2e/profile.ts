/**
 * Where the time of one signature goes, on both sides of the real stack (co-signer child process,
 * device here). Not part of the benchmark's figures: the tracing itself costs a little.
 *   npx tsx bench/e2e/profile.ts              timelines of one full and one online signature,
 *                                             then medians per step over several runs
 *   npx tsx bench/e2e/profile.ts --runs 20    more runs for the medians
 *   npx tsx bench/e2e/profile.ts --load 10    also: 8 devices sign (full protocol) for 10 s, with CPU use of both
 *                                             processes and a V8 CPU profile of each, summarised by area
 *   --online                                  in the load: sign with ready presignatures instead
 *   --save DIR                                also write both load profiles there (.cpuprofile, for DevTools)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpuBetween, cpuSnapshot } from './cpu.js';
import { printSummary, summarizeProfile, type CpuProfile } from './cpuprofile-summary.js';
import { startCpuProfile } from './inspector-profiler.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TandemDevice } from '../../src/client/tandem-device.js';
import { startCosignerChild, type CosignerChild } from './cosigner-child.js';
import { median, round } from './stats.js';
import type { TraceEvent } from './trace.js';
import { traceStack } from './trace-stack.js';

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 10;
const loadArg = args.indexOf('--load');
const loadSeconds = loadArg >= 0 ? Number(args[loadArg + 1]) : 0;
const loadOnline = args.includes('--online');
const saveArg = args.indexOf('--save');
const saveDir = saveArg >= 0 ? args[saveArg + 1] : undefined;

interface Tagged extends TraceEvent {
  side: 'device' | 'cosigner';
}

let events: Tagged[] = [];
let recording = false;
traceStack((event) => {
  if (recording) events.push({ ...event, side: 'device' });
});

const workDir = mkdtempSync(join(tmpdir(), 'tandem-bench-profile-'));
let child: CosignerChild | undefined;

function capture(): Tagged[] {
  const captured = events;
  events = [];
  return captured;
}

async function measured(work: () => Promise<unknown>): Promise<{ ms: number; start: number; end: number; events: Tagged[] }> {
  capture();
  recording = true;
  const start = performance.timeOrigin + performance.now();
  await work();
  const end = performance.timeOrigin + performance.now();
  // Let the co-signer's trailing events (its side of 'bye', audit writes) arrive over stderr.
  await new Promise((resolve) => setTimeout(resolve, 150));
  recording = false;
  const within = capture().filter((event) => event.start >= start - 1 && event.start <= end + 100);
  return { ms: end - start, start, end, events: within };
}

function timeline(title: string, run: { ms: number; start: number; events: Tagged[] }): void {
  console.log(`\n${title}: ${round(run.ms)} ms end to end (device clock); every traced call, by start time`);
  console.log(`${'start'.padStart(8)} ${'took'.padStart(8)}  side      call`);
  for (const event of [...run.events].sort((a, b) => a.start - b.start || b.end - a.end)) {
    console.log(`${round(event.start - run.start, 1).toFixed(1).padStart(8)} ${round(event.end - event.start, 2).toFixed(2).padStart(8)}  ${event.side.padEnd(9)} ${event.name}`);
  }
}

/** Sums of the synchronous work per call name (waiting calls such as link.receive excluded). */
function sums(run: { events: Tagged[] }): Map<string, number> {
  const waiting = /^(link\.(receive|relay|send)|Conversation\.(send|receive|deliver)|Channel\.open|mqtt\.publish|session\.receive)$/;
  const totals = new Map<string, number>();
  for (const event of run.events) {
    if (waiting.test(event.name)) continue;
    const key = `${event.side} ${event.name}`;
    totals.set(key, (totals.get(key) ?? 0) + (event.end - event.start));
  }
  return totals;
}

function summary(title: string, samples: Array<{ ms: number; events: Tagged[] }>): void {
  const perRun = samples.map(sums);
  const keys = [...new Set(perRun.flatMap((totals) => [...totals.keys()]))];
  const rows = keys.map((key) => ({ key, ms: median(perRun.map((totals) => totals.get(key) ?? 0)) })).sort((a, b) => b.ms - a.ms);
  const total = median(samples.map((sample) => sample.ms));
  console.log(`\n${title}: median of ${samples.length} runs, ${round(total)} ms end to end. Synchronous work per call (median ms per signature):`);
  let device = 0;
  let cosigner = 0;
  for (const row of rows) {
    if (row.ms < 0.05) continue;
    console.log(`${row.ms.toFixed(2).padStart(8)}  ${row.key}`);
  }
  for (const row of rows) {
    if (row.key.startsWith('device ')) device += row.ms;
    if (row.key.startsWith('cosigner ')) cosigner += row.ms;
  }
  console.log(`(traced work: device ~${round(device, 1)} ms, co-signer ~${round(cosigner, 1)} ms, nested calls counted once each; the rest of ${round(total)} ms is transport, scheduling and untraced code)`);
}

async function main(): Promise<void> {
  child = await startCosignerChild({
    dataDir: join(workDir, 'cosigner'),
    trace: true,
    onTrace: (event) => {
      if (recording) events.push({ ...event, side: 'cosigner' });
    },
  });
  const enroll = (name: string) => TandemDevice.enroll({ cosignerUrl: child!.url, caPem: child!.certPem, file: join(workDir, `${name}.json`), kind: '2of2' });
  const device = await enroll('profiled');
  await device.createKey();
  for (let i = 0; i < 5; i++) await device.signMessage(`warm-up ${i}`);

  type Run = Awaited<ReturnType<typeof measured>>;
  const full: Run[] = [];
  for (let i = 0; i < runs; i++) full.push(await measured(() => device.signMessage(`full ${i}`)));
  await device.presign(runs);
  const online: Run[] = [];
  for (let i = 0; i < runs; i++) online.push(await measured(() => device.signMessage(`online ${i}`)));
  const presign: Run[] = [];
  for (let i = 0; i < Math.min(runs, 5); i++) presign.push(await measured(() => device.presign(1)));

  const byTime = (list: Run[]) => [...list].sort((a, b) => a.ms - b.ms)[list.length >> 1]!;
  timeline('One full signature (the median run)', byTime(full));
  timeline('One online signature (the median run)', byTime(online));
  summary('Full signature', full);
  summary('Online signature', online);
  summary('presign(1) alone', presign);
  await device.close();

  if (loadSeconds > 0) {
    // An untraced co-signer, so the CPU figures are not inflated by the tracing.
    await child.stop();
    child = await startCosignerChild({ dataDir: join(workDir, 'cosigner-load'), cpuProfileDir: workDir });
    const devices: TandemDevice[] = [];
    for (let i = 0; i < 8; i++) {
      const loadDevice = await enroll(`load-${i}`);
      await loadDevice.createKey();
      devices.push(loadDevice);
    }
    if (loadOnline) {
      const perDevice = Math.ceil((loadSeconds * 40) / devices.length);
      for (const loadDevice of devices) await loadDevice.presign(Math.min(perDevice, 64));
    }
    for (const loadDevice of devices) await loadDevice.signMessage('warm');
    const stopChildProfile = await child.cpuProfile();
    const stopOwnProfile = await startCpuProfile();
    const before = cpuSnapshot(child.pid);
    const deadline = performance.now() + loadSeconds * 1000;
    let count = 0;
    await Promise.all(
      devices.map(async (loadDevice) => {
        while (performance.now() < deadline && (!loadOnline || loadDevice.presignatureCount > 0)) {
          await loadDevice.signMessage('load');
          count++;
        }
      }),
    );
    const cpu = cpuBetween(before, cpuSnapshot(child.pid));
    const ownProfile = await stopOwnProfile();
    const childProfile = JSON.parse(readFileSync(await stopChildProfile(), 'utf8')) as CpuProfile;
    if (saveDir) {
      writeFileSync(join(saveDir, 'cosigner.cpuprofile'), JSON.stringify(childProfile));
      writeFileSync(join(saveDir, 'devices.cpuprofile'), JSON.stringify(ownProfile));
    }
    const kind = loadOnline ? 'online' : 'full';
    console.log(`\nLoad: 8 devices, ${count} ${kind} signatures in ${round(cpu.seconds)} s = ${round(count / cpu.seconds)} sig/s`);
    console.log(`CPU (% of one core, machine has ${cpu.cores * 100}%): co-signer ${round(cpu.cosignerPct)}%, devices ${round(cpu.devicesPct)}%, other processes ${round(cpu.otherPct)}%`);
    console.log(`CPU per signature: co-signer ${round(cpu.cosignerCpuMs / count)} ms, device side ${round(cpu.devicesCpuMs / count)} ms`);
    printSummary('Co-signer process, V8 profile of the load window', summarizeProfile(childProfile), { count, unit: 'sig' });
    printSummary('Device process (8 TandemDevices), V8 profile of the load window', summarizeProfile(ownProfile), { count, unit: 'sig' });
    for (const loadDevice of devices) await loadDevice.close();
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`profile failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
} finally {
  await child?.stop().catch(() => undefined);
  rmSync(workDir, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
