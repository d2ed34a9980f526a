/**
 * The fault campaign: real devices signing through a real Mosquitto 2 (with persistence) and the
 * co-signer, while faults are injected, and a count of what happened to every request:
 *   - device disconnects: the device's connection is cut after its k-th write of a signing (k over
 *     every write a clean signing makes, so every protocol round is hit), by a TCP proxy; half over
 *     the full protocol, half with a pooled presignature;
 *   - broker restarts: Mosquitto is restarted while devices sign;
 *   - broker crashes: Mosquitto is killed (SIGKILL) while devices sign, losing what it held since
 *     its last autosave, and started again;
 *   - concurrency: many signing sessions at once across many devices;
 *   - instance kills: a pool of two co-signers (CLI processes on PostgreSQL), one killed with
 *     SIGKILL while devices sign, and started again.
 * Every request is counted by a Ledger (signing-ledger.ts); lost means no answer within three times
 * the device's own request timeout.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TandemDevice } from '../../client/tandem-device.js';
import { startMosquittoHarness, type MosquittoHarness } from '../broker/mosquitto-harness.js';
import { startCosigner, type RunningCosigner } from '../service.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startPoolMember, type PoolMember } from './pool-member.js';
import { startPostgresServer } from './postgres-server.js';
import { hexToBytes } from '../../mpc/bytes.js';
import { masterKeyFromBytes } from '../store/master-key.js';
import { openPostgresStore } from '../store/postgres/pg-store.js';
import { Ledger, newOutcomes, type Outcomes } from './signing-ledger.js';

export interface CampaignOptions {
  /** Device disconnects, spread over every write of a full signing. */
  disconnects: number;
  brokerRestarts: number;
  /** Mosquitto killed with SIGKILL (sessions and queued messages since its last autosave lost). */
  brokerCrashes: number;
  /** Kills (SIGKILL) of a member of a pool of two co-signers on PostgreSQL, each started again after. */
  instanceKills: number;
  /** Devices signing during the broker restarts. */
  restartDevices: number;
  concurrentDevices: number;
  sessionsPerDevice: number;
  /** The devices' own request timeout; a request with no answer after three times this is lost. */
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * The size `npm test` runs (fault-campaign.test.ts) and `npm run test:faults -- --quick` prints.
 * A full signing makes ~19 device-side writes (15 acknowledge the pieces of the presigning round's
 * frame): the 20 full-protocol cuts of 40 disconnects fall after each of them.
 */
export const QUICK_CAMPAIGN: CampaignOptions = { disconnects: 40, brokerRestarts: 2, brokerCrashes: 1, restartDevices: 2, concurrentDevices: 20, sessionsPerDevice: 5, instanceKills: 2 };

export interface CampaignReport {
  device_disconnects: Outcomes & { writes_per_signing: number; writes_per_pooled_signing: number; cuts: number };
  /** `recovered`: signatures completed after the last fault, so the devices are seen to sign again. */
  broker_restarts: Outcomes & { restarts: number; recovered: number };
  broker_crashes: Outcomes & { crashes: number; recovered: number };
  concurrent_sessions: Outcomes & { devices: number; sessions: number; seconds: number };
  /**
   * The pool's devices sign transactions of 1 wei under a daily limit: `spent_wei` is what the spend
   * ledger holds afterwards, and `spend_overcounted` the wallets whose ledger holds more than the
   * requests their device made (a retry on the other member counted twice).
   */
  instance_kills: Outcomes & { kills: number; devices: number; spent_wei: number; spend_overcounted: number };
  signatures: number;
  signatures_bad: number;
  presignatures_reused: number;
  unclear_errors: string[];
}

const FLEET_REQUEST_TIMEOUT_MS = 60_000;

interface Stack {
  dir: string;
  harness: MosquittoHarness;
  proxy: FaultProxy;
  cosigner: RunningCosigner;
  stop(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-faults-'));
  const harness = await startMosquittoHarness();
  const proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(harness.wssUrl).port) });
  const cosigner = await startCosigner({
    dataDir: join(dir, 'cosigner'),
    port: 0,
    env: { TANDEM_MASTER_KEY: '4f'.repeat(32) },
    log: () => undefined,
    heartbeatMs: 1_000,
    // One address enrolls the whole fleet.
    enrollLimit: { limit: 100_000, windowMs: 60_000 },
    external: {
      url: harness.mtlsUrl,
      caPem: harness.caPem,
      certPem: harness.cosigner.certPem,
      keyPem: harness.cosigner.keyPem,
      // Devices reach the broker through the proxy, which can cut them off.
      deviceUrl: `wss://127.0.0.1:${proxy.port}/mqtt`,
      deviceCaPem: harness.caPem,
    },
  });
  return {
    dir,
    harness,
    proxy,
    cosigner,
    async stop() {
      await cosigner.stop().catch(() => undefined);
      await proxy.close().catch(() => undefined);
      await harness.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function newDevice(stack: Stack, name: string, requestTimeoutMs: number): Promise<TandemDevice> {
  const device = await TandemDevice.enroll({ cosignerUrl: stack.cosigner.url, caPem: stack.cosigner.certPem, file: join(stack.dir, `${name}.json`), kind: '2of2' }, { requestTimeoutMs });
  await device.createKey();
  return device;
}

/** Devices made a few at a time: key generation is CPU-bound on both sides. */
async function newDevices(stack: Stack, prefix: string, count: number, requestTimeoutMs: number): Promise<TandemDevice[]> {
  const devices: TandemDevice[] = [];
  for (let start = 0; start < count; start += 4) {
    const batch = Array.from({ length: Math.min(4, count - start) }, (_, index) => newDevice(stack, `${prefix}-${start + index}`, requestTimeoutMs));
    devices.push(...(await Promise.all(batch)));
  }
  return devices;
}

export async function runFaultCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const log = options.log ?? (() => undefined);
  const requestTimeoutMs = options.requestTimeoutMs ?? 8_000;
  const lostAfterMs = 3 * requestTimeoutMs;
  const ledger = new Ledger();
  const stack = await startStack();
  const devices: TandemDevice[] = [];
  try {
    // ---- Device disconnects at every write of a signing: half over the full protocol (presign and
    // sign in one conversation), half with a presignature from the pool (one round trip).
    const cut = await newDevice(stack, 'cut', requestTimeoutMs);
    devices.push(cut);
    await ledger.sign(cut, 'warm-up: the connection is up', newOutcomes(), lostAfterMs);
    const writesOf = async (pooled: boolean, label: string) => {
      if (pooled) await cut.presign(1);
      stack.proxy.resetCount();
      await ledger.sign(cut, `reference ${label}: how many writes a clean signing makes`, newOutcomes(), lostAfterMs);
      return Math.max(1, stack.proxy.writes);
    };
    const fullWrites = await writesOf(false, 'full');
    const pooledWrites = await writesOf(true, 'pooled');
    log(`device disconnects: a clean signing makes ${fullWrites} writes (full protocol), ${pooledWrites} (pooled); cutting after each in turn, ${options.disconnects} times`);
    const disconnects = { ...newOutcomes(), writes_per_signing: fullWrites, writes_per_pooled_signing: pooledWrites, cuts: 0 };
    const cutsBefore = stack.proxy.cuts;
    for (let i = 0; i < options.disconnects; i++) {
      const pooled = i >= Math.ceil(options.disconnects / 2);
      // The presignature is made before the fault is armed: the cut falls on the signing itself.
      if (pooled) await cut.presign(1).catch(() => undefined);
      stack.proxy.armCut((i % (pooled ? pooledWrites : fullWrites)) + 1);
      await ledger.sign(cut, `disconnect ${i}${pooled ? ' (pooled)' : ''}`, disconnects, lostAfterMs);
      // The cut may not have come (a shorter run, or it came after the answer): disarm before the next.
      stack.proxy.resetCount();
      if ((i + 1) % 10 === 0) log(`device disconnect ${i + 1}: ${disconnects.completed} completed, ${disconnects.failed_clear} failed clearly, ${disconnects.lost} lost so far`);
    }
    disconnects.cuts = stack.proxy.cuts - cutsBefore;
    await cut.close();

    // ---- Broker restarts, then crashes, while devices sign.
    const timing = { requestTimeoutMs, lostAfterMs };
    const restarts = { ...newOutcomes(), restarts: options.brokerRestarts, recovered: 0 };
    restarts.recovered = await brokerFaults(stack, 'restart', options.brokerRestarts, options.restartDevices, timing, ledger, restarts, devices, log);
    const crashes = { ...newOutcomes(), crashes: options.brokerCrashes, recovered: 0 };
    crashes.recovered = await brokerFaults(stack, 'crash', options.brokerCrashes, options.restartDevices, timing, ledger, crashes, devices, log);

    // ---- Many signing sessions at once.
    log(`concurrency: ${options.concurrentDevices} devices x ${options.sessionsPerDevice} sessions`);
    // These devices keep a wallet's own request timeout (60 s): each asks five times at once, and its
    // requests run one after another, so the last waits for the four before it.
    const fleet = await newDevices(stack, 'fleet', options.concurrentDevices, FLEET_REQUEST_TIMEOUT_MS);
    devices.push(...fleet);
    const concurrent = { ...newOutcomes(), devices: fleet.length, sessions: fleet.length * options.sessionsPerDevice, seconds: 0 };
    const started = performance.now();
    await Promise.all(fleet.flatMap((device, d) => Array.from({ length: options.sessionsPerDevice }, (_, s) => ledger.sign(device, `fleet ${d} session ${s}`, concurrent, 3 * FLEET_REQUEST_TIMEOUT_MS * options.sessionsPerDevice))));
    concurrent.seconds = Math.round((performance.now() - started) / 10) / 100;

    // ---- Instance kills in a pool of two. The single co-signer above stops first: it subscribes the
    // plain inboxes, and would take every conversation beside the pool.
    await stack.cosigner.stop();
    const kills = { ...newOutcomes(), kills: 0, devices: 0, spent_wei: 0, spend_overcounted: 0 };
    if (options.instanceKills > 0) await runInstanceKills(stack, options.instanceKills, requestTimeoutMs, lostAfterMs, ledger, kills, log);

    return {
      device_disconnects: disconnects,
      broker_restarts: restarts,
      broker_crashes: crashes,
      concurrent_sessions: concurrent,
      instance_kills: kills,
      signatures: ledger.signatures,
      signatures_bad: ledger.bad,
      presignatures_reused: ledger.reused,
      unclear_errors: ledger.unclear,
    };
  } finally {
    for (const device of devices) await device.close().catch(() => undefined);
    await stack.stop();
  }
}

/**
 * Restarts (SIGTERM: Mosquitto saves its state) or crashes (SIGKILL: it loses what it held since its
 * last autosave) of the broker while devices of their own sign. Returns how many signatures
 * completed after the last one.
 */
async function brokerFaults(
  stack: Stack,
  fault: 'restart' | 'crash',
  count: number,
  deviceCount: number,
  timing: { requestTimeoutMs: number; lostAfterMs: number },
  ledger: Ledger,
  outcomes: Outcomes,
  devices: TandemDevice[],
  log: (line: string) => void,
): Promise<number> {
  if (count === 0) return 0;
  log(`broker ${fault === 'crash' ? 'crashes' : 'restarts'}: ${count}, with ${deviceCount} devices signing`);
  const signers = await newDevices(stack, fault, deviceCount, timing.requestTimeoutMs);
  devices.push(...signers);
  const loops = ledger.signWhile(signers, fault, outcomes, timing.lostAfterMs);
  // After a crash, requests in flight may wait out the devices' timeout before the devices sign again.
  const recoveryMs = fault === 'crash' ? timing.lostAfterMs : 10_000;
  /** Until a signature completes, or the recovery time is over. */
  const nextCompletion = async () => {
    const completedBefore = outcomes.completed;
    const deadline = Date.now() + recoveryMs;
    while (outcomes.completed === completedBefore && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  for (let i = 1; i <= count; i++) {
    // Each fault falls on signings in progress once the devices have recovered from the last one.
    await nextCompletion();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await (fault === 'crash' ? stack.harness.crash() : stack.harness.restart());
    log(`broker ${fault} ${i}: ${outcomes.completed} completed, ${outcomes.failed_clear} failed clearly, ${outcomes.lost} lost so far`);
  }
  // Signing goes on after the last fault until a signature completes, so every device is seen to recover.
  const completedAfter = outcomes.completed;
  await nextCompletion();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await loops.stop();
  for (const device of signers) await device.close();
  return outcomes.completed - completedAfter;
}

async function runInstanceKills(stack: Stack, count: number, requestTimeoutMs: number, lostAfterMs: number, ledger: Ledger, kills: CampaignReport['instance_kills'], log: (line: string) => void): Promise<void> {
  const server = await startPostgresServer();
  const members: PoolMember[] = [];
  const devices: TandemDevice[] = [];
  let operator: Awaited<ReturnType<typeof openPostgresStore>> | undefined;
  try {
    const options = { dataDir: join(stack.dir, 'pool'), database: await server.createDatabase('pool'), harness: stack.harness, masterKeyHex: '4e'.repeat(32), workDir: stack.dir };
    const POOL_CHAIN_ID = 31337;
    // The first member makes the pool's identity in the shared data directory; the second reads it.
    members.push(await startPoolMember({ ...options, name: 'a' }));
    members.push(await startPoolMember({ ...options, name: 'b' }));
    const caPem = readFileSync(join(options.dataDir, 'tls', 'server-cert.pem'), 'utf8');
    for (let i = 0; i < 4; i++) {
      const device = await TandemDevice.enroll({ cosignerUrl: members[i % 2]!.url, caPem, file: join(stack.dir, `pool-device-${i}.json`), kind: '2of2' }, { requestTimeoutMs });
      await device.createKey();
      devices.push(device);
    }
    kills.devices = devices.length;
    // The operator's view of the pool's database: a daily limit far above the load, so every spend is checked and recorded.
    operator = await openPostgresStore({ url: options.database, masterKey: masterKeyFromBytes(hexToBytes(options.masterKeyHex), 'env') });
    for (const device of devices) await operator.setPolicy(device.walletId, { dailyLimitWei: '1000000000000' });
    log(`instance kills: ${count}, in a pool of two, with ${devices.length} devices signing transactions`);
    const loops = ledger.signWhile(devices, 'pool', kills, lostAfterMs, { chainId: POOL_CHAIN_ID, valueWei: 1n });
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      const victim = i % 2;
      await members[victim]!.kill();
      kills.kills++;
      // Load on the survivor alone for a moment, then the killed member comes back.
      await new Promise((resolve) => setTimeout(resolve, 300));
      members[victim] = await startPoolMember({ ...options, name: members[victim]!.name });
      if ((i + 1) % 10 === 0 || i + 1 === count) log(`instance kill ${i + 1}: ${kills.completed} completed, ${kills.failed_clear} failed clearly, ${kills.lost} lost so far`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const requests = await loops.stop();
    for (const [index, device] of devices.entries()) {
      const spent = Number(await operator.spentSince(device.walletId, POOL_CHAIN_ID, 0));
      kills.spent_wei += spent;
      if (spent > requests[index]!) kills.spend_overcounted++;
    }
  } finally {
    await operator?.close();
    for (const device of devices) await device.close().catch(() => undefined);
    for (const member of members) await member.kill().catch(() => undefined);
    await server.stop();
  }
}
