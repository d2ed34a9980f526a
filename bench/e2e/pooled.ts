/**
 * bench:e2e on a pool: `npm run bench:e2e -- --json --instances 2 --database postgres`.
 * A throwaway PostgreSQL and Mosquitto 2, N co-signer members started with the operator's CLI
 * (`start --pool-member`), and devices over WSS to Mosquitto: keygen, online signatures with a
 * presignature ready, then sustained full-protocol signing, with the CPU of every member summed.
 * One JSON line (or a table): the same field names as the single-instance run where they mean the same.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { recoverMessageAddress } from 'viem';
import { TandemDevice } from '../../src/client/tandem-device.js';
import { startMosquittoHarness } from '../../src/cosigner/broker/mosquitto-harness.js';
import { startPoolMember, type PoolMember } from '../../src/cosigner/testing/pool-member.js';
import { startPostgresServer } from '../../src/cosigner/testing/postgres-server.js';
import { cpuSnapshot, type CpuSnapshot } from './cpu.js';
import { percentile, round, timed } from './stats.js';
import { sustainedSigning } from './sustained.js';

export interface PooledPlan {
  instances: number;
  wallets: number;
  onlineSamples: number;
  sustainedSeconds: number;
  json: boolean;
}

const message = (label: string) => `tandem pooled bench ${label} ${randomBytes(8).toString('hex')}`;

/** Process CPU seconds of each member between two moments, from /proc (cpuSnapshot's child field). */
function memberCpu(members: PoolMember[]): CpuSnapshot[] {
  return members.map((member) => cpuSnapshot(member.child.pid!));
}

function cpuSecondsBetween(before: CpuSnapshot[], after: CpuSnapshot[]): { members: number; self: number } {
  const members = after.reduce((sum, snapshot, index) => sum + (snapshot.child - before[index]!.child), 0) / 100;
  return { members, self: (after[0]!.self - before[0]!.self) / 100 };
}

export async function runPooledBench(plan: PooledPlan, progress: (line: string) => void): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-pool-'));
  const [harness, server] = await Promise.all([startMosquittoHarness(), startPostgresServer()]);
  const members: PoolMember[] = [];
  const devices: TandemDevice[] = [];
  try {
    const options = { dataDir: join(dir, 'cosigner'), database: await server.createDatabase('bench'), harness, masterKeyHex: '5c'.repeat(32), workDir: dir };
    progress(`starting ${plan.instances} co-signer members on PostgreSQL and Mosquitto`);
    // The first makes the pool's identity in the shared data directory.
    members.push(await startPoolMember({ ...options, name: 'm0' }));
    members.push(...(await Promise.all(Array.from({ length: plan.instances - 1 }, (_, i) => startPoolMember({ ...options, name: `m${i + 1}` })))));
    const caPem = readFileSync(join(options.dataDir, 'tls', 'server-cert.pem'), 'utf8');

    progress(`keygen: ${plan.wallets} wallets`);
    const dkg: number[] = [];
    for (let i = 0; i < plan.wallets; i++) {
      const device = await TandemDevice.enroll({ cosignerUrl: members[i % members.length]!.url, caPem, file: join(dir, `wallet-${i}.json`), kind: '2of2' });
      devices.push(device);
      dkg.push((await timed(() => device.createKey())).ms);
    }
    for (const device of devices) await device.signMessage(message('warm-up'));

    progress(`online signatures (a presignature ready): ${plan.onlineSamples}`);
    const online: number[] = [];
    const onlineDevice = devices[0]!;
    await onlineDevice.presign(plan.onlineSamples);
    for (let i = 0; i < plan.onlineSamples; i++) online.push((await timed(() => onlineDevice.signMessage(message('online')))).ms);

    progress(`sustained: ${devices.length} devices signing concurrently for ${plan.sustainedSeconds} s (full protocol each time)`);
    const cpuBefore = memberCpu(members);
    const { latencies, errors, samples, seconds } = await sustainedSigning(devices, plan.sustainedSeconds, 32);
    const cpu = cpuSecondsBetween(cpuBefore, memberCpu(members));
    const perMember = await Promise.all(members.map((member) => member.signatures()));

    let verified = 0;
    for (const sample of samples) if ((await recoverMessageAddress({ message: sample.message, signature: sample.signature })) === sample.device.address) verified++;
    const signatures = latencies.length;
    const result = {
      instances: plan.instances,
      database: 'postgres',
      broker: 'mosquitto',
      dkg_ms: round(percentile(dkg, 50)),
      online_sign_p50_ms: round(percentile(online, 50)),
      online_sign_p95_ms: round(percentile(online, 95)),
      sustained_sig_per_s: round(signatures / seconds),
      sustained_signatures: signatures,
      sustained_seconds: round(seconds),
      sustained_devices: devices.length,
      sustained_errors: errors.length,
      sustained_latency_p50_ms: round(percentile(latencies, 50)),
      sustained_latency_p95_ms: round(percentile(latencies, 95)),
      signatures_per_member: perMember,
      cpu_ms_per_sustained_signature: { cosigners: round((cpu.members * 1000) / Math.max(1, signatures)), devices: round((cpu.self * 1000) / Math.max(1, signatures)) },
      signatures_verified: verified,
      signatures_checked: samples.length,
    };
    if (plan.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else console.table(result);
    if (errors.length > 0) progress(`errors: ${[...new Set(errors)].slice(0, 5).join(' | ')}`);
    return result;
  } finally {
    for (const device of devices) await device.close().catch(() => undefined);
    for (const member of members) await member.kill().catch(() => undefined);
    await harness.stop().catch(() => undefined);
    await server.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
