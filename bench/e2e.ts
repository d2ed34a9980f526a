/**
 * End-to-end benchmark of the real stack: a co-signer (embedded Aedes broker over WSS, HTTPS
 * enrollment, SQLite store) in a child process, and headless devices (TandemDevice) in this one.
 *   npm run bench:e2e                 human table
 *   npm run bench:e2e -- --json       one JSON line on stdout (progress goes to stderr)
 *   npm run bench:e2e -- --quick      fewer samples, 5 s sustained, 200 idle devices
 *   npm run bench:e2e -- --idle 500   how many idle devices to connect (default 2000)
 *   npm run bench:e2e -- --json --instances 2 --database postgres
 *                                     a pool of co-signer members on PostgreSQL and Mosquitto (see e2e/pooled.ts)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism as cpuCores, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { recoverMessageAddress } from 'viem';
import { TandemDevice } from '../src/client/tandem-device.js';
import { approvalPhase } from './e2e/approval-phase.js';
import { COSIGNER_MASTER_KEY_HEX, startCosignerChild, type CosignerChild } from './e2e/cosigner-child.js';
import { cpuBetween, cpuSnapshot, machineBusyPct, type CpuUse } from './e2e/cpu.js';
import { startIdleFleet } from './e2e/idle-devices.js';
import { median, percentile, round, timed } from './e2e/stats.js';
import { runPooledBench } from './e2e/pooled.js';
import { sustainedSigning } from './e2e/sustained.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const verbose = args.includes('--verbose');
if (verbose) process.env.BENCH_E2E_VERBOSE = '1';
const idleArg = args.indexOf('--idle');
const idleRequested = idleArg >= 0 ? Number(args[idleArg + 1]) : quick ? 200 : 2000;
if (!Number.isInteger(idleRequested) || idleRequested < 0) {
  process.stderr.write('e2e: --idle needs a whole number of devices\n');
  process.exit(2);
}

const instancesArg = args.indexOf('--instances');
const instances = instancesArg >= 0 ? Number(args[instancesArg + 1]) : 1;
const databaseArg = args.indexOf('--database');
const database = databaseArg >= 0 ? args[databaseArg + 1] : 'sqlite';
if (!Number.isInteger(instances) || instances < 1 || instances > 8 || (database !== 'sqlite' && database !== 'postgres') || (instances > 1 && database !== 'postgres')) {
  process.stderr.write('e2e: --instances takes 1 to 8, --database sqlite or postgres; several instances share one PostgreSQL database\n');
  process.exit(2);
}

const plan = quick
  ? { wallets: 8, warmupSigns: 10, fullSamples: 10, onlineSamples: 10, sustainedSeconds: 5, sustainedDevices: 8, coldSamples: 3, pooledSeconds: 2, poolPerDevice: 12, approvalSamples: 5 }
  : { wallets: 8, warmupSigns: 60, fullSamples: 40, onlineSamples: 40, sustainedSeconds: 20, sustainedDevices: 8, coldSamples: 5, pooledSeconds: 5, poolPerDevice: 48, approvalSamples: 20 };

const progress = (line: string) => process.stderr.write(`e2e: ${line}\n`);
const children: CosignerChild[] = [];
const workDir = mkdtempSync(join(tmpdir(), 'tandem-bench-e2e-'));
let cleanedUp = false;

async function cleanUp(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children.splice(0)) await child.stop().catch(() => undefined);
  rmSync(workDir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}

function openFileLimit(): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !match || match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startChild(name: string): Promise<CosignerChild> {
  const child = await startCosignerChild({
    dataDir: join(workDir, name),
    onLog: (line) => {
      if (verbose) process.stderr.write(`[${name}] ${line}\n`);
    },
  });
  children.push(child);
  return child;
}

async function stopChild(child: CosignerChild): Promise<void> {
  children.splice(children.indexOf(child), 1);
  await child.stop();
}

function message(label: string): string {
  return `tandem bench ${label} ${randomBytes(8).toString('hex')}`;
}

/** Signatures are checked after the timing, so a fast wrong answer cannot pass as a result. */
async function verifyAll(device: TandemDevice, signed: Array<{ message: string; signature: `0x${string}` }>): Promise<number> {
  let good = 0;
  for (const { message: text, signature } of signed) {
    const recovered = await recoverMessageAddress({ message: text, signature });
    if (recovered.toLowerCase() === device.address.toLowerCase()) good++;
  }
  return good;
}

async function signingPhases(child: CosignerChild) {
  const devices: TandemDevice[] = [];
  const walletFile = (index: number) => join(workDir, 'wallets', `wallet-${index}.json`);
  const enroll = async (index: number) =>
    TandemDevice.enroll({ cosignerUrl: child.url, caPem: child.certPem, file: walletFile(index), kind: '2of2' });

  // Warm-up: one wallet (keygen and 60 signatures) so both processes run optimised code: with 5,
  // the full-signature phase still paid for V8 compiling the request path (17.5 against 10.7 ms of co-signer CPU).
  progress('warming up');
  const warm = await enroll(-1);
  await warm.createKey();
  for (let i = 0; i < plan.warmupSigns; i++) await warm.signMessage(message('warm-up'));
  await warm.presign(2);
  for (let i = 0; i < 2; i++) await warm.signMessage(message('warm-up'));
  await warm.close();

  progress(`keygen: ${plan.wallets} wallets (2-of-2), one after another`);
  const dkg: number[] = [];
  for (let i = 0; i < plan.wallets; i++) {
    const device = await enroll(i);
    devices.push(device);
    dkg.push((await timed(() => device.createKey())).ms);
  }

  progress(`full signatures (presign + sign in one conversation): ${plan.fullSamples}`);
  const fullDevice = devices[0]!;
  const full: number[] = [];
  const fullSigned: Array<{ message: string; signature: `0x${string}` }> = [];
  const fullCpuStart = cpuSnapshot(child.pid);
  for (let i = 0; i < plan.fullSamples; i++) {
    const text = message(`full ${i}`);
    const run = await timed(() => fullDevice.signMessage(text));
    full.push(run.ms);
    fullSigned.push({ message: text, signature: run.value });
  }
  const fullCpu = cpuBetween(fullCpuStart, cpuSnapshot(child.pid));

  progress(`online signatures (presignature ready): ${plan.onlineSamples}`);
  const onlineDevice = devices[1]!;
  const presignBatch = await timed(() => onlineDevice.presign(plan.onlineSamples));
  const online: number[] = [];
  const onlineSigned: Array<{ message: string; signature: `0x${string}` }> = [];
  const onlineCpuStart = cpuSnapshot(child.pid);
  for (let i = 0; i < plan.onlineSamples; i++) {
    const text = message(`online ${i}`);
    const run = await timed(() => onlineDevice.signMessage(text));
    online.push(run.ms);
    onlineSigned.push({ message: text, signature: run.value });
  }
  const onlineCpu = cpuBetween(onlineCpuStart, cpuSnapshot(child.pid));
  const onlineLeft = onlineDevice.presignatureCount;

  progress(`sustained: ${plan.sustainedDevices} devices signing concurrently for ${plan.sustainedSeconds} s (full protocol each time)`);
  const sustained = devices.slice(0, plan.sustainedDevices);
  const sustainedCpuStart = cpuSnapshot(child.pid);
  const { latencies, errors: sustainedErrors, samples: sustainedSamples, seconds: sustainedSeconds } = await sustainedSigning(sustained, plan.sustainedSeconds, 16);
  const sustainedCpu = cpuBetween(sustainedCpuStart, cpuSnapshot(child.pid));

  // The same 8 devices with presignature pools filled beforehand (as devices do while idle):
  // the co-signer's throughput on the online path alone. Stops early for a device whose pool ran out.
  progress(`sustained with pools: ${plan.poolPerDevice} presignatures per device first, then ${plan.pooledSeconds} s of online signatures`);
  await Promise.all(sustained.map((device) => device.presign(plan.poolPerDevice)));
  let pooledSignatures = 0;
  const pooledStart = performance.now();
  const pooledDeadline = pooledStart + plan.pooledSeconds * 1000;
  await Promise.all(
    sustained.map(async (device) => {
      while (performance.now() < pooledDeadline && device.presignatureCount > 0) {
        await device.signMessage(message('pooled'));
        pooledSignatures++;
      }
    }),
  );
  const pooledSeconds = (performance.now() - pooledStart) / 1000;

  // A device that was just opened: MQTT connection (TLS), channel handshake, then a full signature.
  progress(`first signature after opening a wallet file: ${plan.coldSamples}`);
  const cold: number[] = [];
  for (let i = 0; i < plan.coldSamples; i++) {
    const index = 2 + (i % (devices.length - 2));
    await devices[index]!.close();
    const reopened = TandemDevice.open(walletFile(index));
    devices[index] = reopened;
    cold.push((await timed(() => reopened.signMessage(message('cold')))).ms);
  }

  progress('verifying signatures');
  let verified = await verifyAll(fullDevice, fullSigned);
  verified += await verifyAll(onlineDevice, onlineSigned);
  for (const sample of sustainedSamples) verified += await verifyAll(sample.device, [sample]);
  const checked = fullSigned.length + onlineSigned.length + sustainedSamples.length;

  const rssAfterSigning = child.rssMb();
  for (const device of devices) await device.close();

  return {
    dkg,
    cold,
    fullCpu,
    onlineCpu,
    sustainedCpu,
    full,
    online,
    presignBatchMs: presignBatch.ms,
    onlineLeft,
    latencies,
    sustainedSeconds,
    sustainedErrors,
    pooledSignatures,
    pooledSeconds,
    verified,
    checked,
    rssAfterSigning,
  };
}

async function idlePhase(child: CosignerChild) {
  // Let the fresh process finish starting up before the "no devices" reading.
  await sleep(2000);
  const rssBefore = child.rssMb();
  const fdsBefore = child.openFds();
  if (idleRequested === 0) return { rssBefore, rssIdle: rssBefore, peakRss: rssBefore, connected: 0, enrolled: 0, enrollMs: 0, connectMs: 0, failures: [] as string[], fdsBefore, fds: fdsBefore };

  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, child.rssMb());
    } catch {
      // the child is gone; the run fails below
    }
  }, 500);
  progress(`idle devices: enrolling and connecting ${idleRequested}`);
  const fleet = await startIdleFleet({
    cosignerUrl: child.url,
    caPem: child.certPem,
    count: idleRequested,
    enrollConcurrency: 8,
    connectConcurrency: 32,
    devicesPerAddress: 100,
    keepaliveSeconds: 20,
    progress,
  });
  progress(`idle devices: ${fleet.connected()} connected; letting them sit idle for 10 s`);
  await sleep(10_000);
  clearInterval(sampler);
  const connected = fleet.connected();
  const rssIdle = child.rssMb();
  const fds = child.openFds();
  peakRss = Math.max(peakRss, rssIdle);
  await fleet.close();
  return { rssBefore, rssIdle, peakRss, connected, enrolled: fleet.enrolled, enrollMs: fleet.enrollMs, connectMs: fleet.connectMs, failures: fleet.failures, fdsBefore, fds };
}

async function main(): Promise<void> {
  const fdLimit = openFileLimit();
  const loadAtStart = loadavg()[0]!;
  const busyAtStart = await machineBusyPct(2000);
  if (busyAtStart > 25) progress(`warning: other processes are using ${round(busyAtStart)}% of a core (of ${cpuCores() * 100}%): the figures will be lower than on a quiet machine`);
  // Each idle device is one socket here and one in the co-signer; leave room for everything else.
  if (fdLimit < idleRequested + 256) {
    progress(`warning: the open-file limit is ${fdLimit}, too low for ${idleRequested} idle connections; Node cannot raise it (run "ulimit -n ${idleRequested + 1024}" first)`);
  }

  progress('starting the co-signer child process (signing phases)');
  const signer = await startChild('cosigner-sign');
  const signing = await signingPhases(signer);
  progress(`approval round trip (approver online): ${plan.approvalSamples} requests held, approved and signed`);
  const approval = await approvalPhase(signer, { dataDir: join(workDir, 'cosigner-sign'), workDir, masterKeyHex: COSIGNER_MASTER_KEY_HEX, samples: plan.approvalSamples });
  await stopChild(signer);

  progress('starting a fresh co-signer child process (idle phase)');
  const idler = await startChild('cosigner-idle');
  const idle = await idlePhase(idler);
  await stopChild(idler);

  const perSignature = (cpu: CpuUse, count: number) => ({ cosigner: round(cpu.cosignerCpuMs / count, 1), device: round(cpu.devicesCpuMs / count, 1) });
  const shares = (cpu: CpuUse) => ({ cosigner: round(cpu.cosignerPct), devices: round(cpu.devicesPct), other: round(cpu.otherPct) });
  const result = {
    dkg_ms: round(median(signing.dkg)),
    dkg_samples: signing.dkg.length,
    sign_p50_ms: round(median(signing.full)),
    sign_p95_ms: round(percentile(signing.full, 95)),
    sign_samples: signing.full.length,
    online_sign_p50_ms: round(median(signing.online)),
    online_sign_p95_ms: round(percentile(signing.online, 95)),
    online_sign_samples: signing.online.length,
    first_sign_after_open_ms: round(median(signing.cold)),
    first_sign_samples: signing.cold.length,
    presign_batch_ms_per_presignature: round(signing.presignBatchMs / plan.onlineSamples),
    sustained_sig_per_s: round(signing.latencies.length / signing.sustainedSeconds),
    sustained_signatures: signing.latencies.length,
    sustained_pooled_sig_per_s: round(signing.pooledSignatures / signing.pooledSeconds),
    sustained_pooled_signatures: signing.pooledSignatures,
    sustained_pooled_seconds: round(signing.pooledSeconds),
    sustained_seconds: round(signing.sustainedSeconds),
    sustained_devices: plan.sustainedDevices,
    // Co-signer instances serving the devices: one process (the sustained floor is per instance).
    instances: 1,
    sustained_errors: signing.sustainedErrors.length,
    sustained_latency_p50_ms: round(median(signing.latencies)),
    sustained_latency_p95_ms: round(percentile(signing.latencies, 95)),
    cpu_ms_per_full_signature: perSignature(signing.fullCpu, signing.full.length),
    cpu_ms_per_online_signature: perSignature(signing.onlineCpu, signing.online.length),
    cpu_ms_per_sustained_signature: perSignature(signing.sustainedCpu, Math.max(1, signing.latencies.length)),
    // Percent of one core (the machine has `cores` of them); "other" is everything else running on the machine.
    cpu_pct_full_phase: shares(signing.fullCpu),
    cpu_pct_sustained: shares(signing.sustainedCpu),
    cores: signing.sustainedCpu.cores,
    loadavg_1m_at_start: round(loadAtStart),
    other_cpu_pct_at_start: round(busyAtStart),
    signatures_verified: signing.verified,
    signatures_checked: signing.checked,
    approval_roundtrip_ms: round(median(approval.roundTrips)),
    approval_roundtrip_p95_ms: round(percentile(approval.roundTrips, 95)),
    approval_samples: approval.roundTrips.length,
    approval_signatures_verified: approval.verified,
    idle_devices: idle.connected,
    idle_requested: idleRequested,
    idle_enrolled: idle.enrolled,
    idle_failures: idle.failures.length,
    idle_enroll_s: round(idle.enrollMs / 1000),
    idle_connect_s: round(idle.connectMs / 1000),
    rss_mb: round(idle.rssIdle, 1),
    rss_peak_mb: round(idle.peakRss, 1),
    cosigner_rss_idle_mb_before: round(idle.rssBefore, 1),
    cosigner_rss_after_signing_mb: round(signing.rssAfterSigning, 1),
    cosigner_open_fds_before: idle.fdsBefore,
    cosigner_open_fds: idle.fds,
    fd_limit: Number.isFinite(fdLimit) ? fdLimit : null,
    quick,
    node: process.version,
  };
  if (signing.sustainedErrors.length) progress(`sustained errors (first): ${signing.sustainedErrors[0]}`);
  if (idle.failures.length) progress(`idle failures (first of ${idle.failures.length}): ${idle.failures[0]}`);
  if (signing.onlineLeft !== 0) progress(`note: ${signing.onlineLeft} presignatures were left unused on the online device`);

  if (json) {
    await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(result)}\n`, () => resolve()));
    return;
  }
  const mb = (value: number) => `${value} MB`;
  const rows: [string, string, string][] = [
    ['keygen 2-of-2 (createKey)', `${result.dkg_ms} ms`, ''],
    ['full signature p50', `${result.sign_p50_ms} ms`, '<= 80 ms'],
    ['full signature p95', `${result.sign_p95_ms} ms`, ''],
    ['online signature p50', `${result.online_sign_p50_ms} ms`, '<= 15 ms'],
    ['online signature p95', `${result.online_sign_p95_ms} ms`, ''],
    ['first signature after open', `${result.first_sign_after_open_ms} ms`, ''],
    ['presign (batched), each', `${result.presign_batch_ms_per_presignature} ms`, ''],
    ['sustained, 8 devices', `${result.sustained_sig_per_s} sig/s`, '>= 50 sig/s'],
    ['approval round trip p50', `${result.approval_roundtrip_ms} ms`, 'approver online'],
    ['  latency under load p50', `${result.sustained_latency_p50_ms} ms`, ''],
    ['sustained, pools filled first', `${result.sustained_pooled_sig_per_s} sig/s`, ''],
    ['  CPU co-signer / devices', `${result.cpu_pct_sustained.cosigner}% / ${result.cpu_pct_sustained.devices}%`, `other work ${result.cpu_pct_sustained.other}% (of ${result.cores * 100}%)`],
    ['idle devices connected', `${result.idle_devices}`, `${idleRequested} requested`],
    ['co-signer RSS, idle devices', mb(result.rss_mb), '<= 300 MB for 2000'],
    ['co-signer RSS, no devices', mb(result.cosigner_rss_idle_mb_before), ''],
    ['co-signer RSS, after signing', mb(result.cosigner_rss_after_signing_mb), ''],
  ];
  console.log(`Tandem end to end: co-signer child process over wss://127.0.0.1, devices in this process${quick ? ' (--quick)' : ''}; medians unless noted`);
  for (const [what, value, floor] of rows) console.log(`${what.padEnd(30)}${value.padStart(14)}   ${floor}`);
  console.log(
    `CPU per full signature: co-signer ${result.cpu_ms_per_full_signature.cosigner} ms, device ${result.cpu_ms_per_full_signature.device} ms; ` +
      `per online signature: co-signer ${result.cpu_ms_per_online_signature.cosigner} ms, device ${result.cpu_ms_per_online_signature.device} ms; load average at start ${result.loadavg_1m_at_start}`,
  );
  console.log(
    `samples: keygen ${result.dkg_samples}, first-after-open ${result.first_sign_samples}, full ${result.sign_samples}, online ${result.online_sign_samples}, sustained ${result.sustained_signatures} in ${result.sustained_seconds} s (${result.sustained_errors} errors); ` +
      `${result.signatures_verified}/${result.signatures_checked} signatures verified; idle enroll ${result.idle_enroll_s} s, connect ${result.idle_connect_s} s, ${result.idle_failures} failures`,
  );
}

try {
  if (database === 'postgres') {
    await runPooledBench({ instances, wallets: plan.sustainedDevices, onlineSamples: plan.onlineSamples, sustainedSeconds: plan.sustainedSeconds, json }, progress);
  } else await main();
} catch (error) {
  progress(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
// Keep-alive agents and timers of closed clients would hold the process open for a while.
process.exit(process.exitCode ?? 0);
