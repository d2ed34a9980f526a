/**
 * A pool of two co-signers, each its own process started with the operator's CLI, on one PostgreSQL
 * database and one Mosquitto 2: new conversations are shared between them (MQTT shared
 * subscription), presence is online while either is, and when one is killed (SIGKILL) under load,
 * every request in flight completes on the other or fails with a typed error; none is lost, every
 * signature verifies and no nonce point appears twice.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverMessageAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApproverSession, enrollApprover } from '../channel/approver-session.js';
import type { PostJson } from '../channel/device-session.js';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import { postJson } from '../client/http.js';
import { TandemDevice } from '../client/tandem-device.js';
import { hexToBytes } from '../mpc/bytes.js';
import { masterKeyFromBytes, openStore } from './store/index.js';
import { startMosquittoHarness, type MosquittoHarness } from './broker/mosquitto-harness.js';
import { startPoolMember, type PoolMember } from './testing/pool-member.js';
import { Ledger, newOutcomes } from './testing/signing-ledger.js';
import { startPostgresServer, type PostgresServer } from './testing/postgres-server.js';
const MASTER_KEY_HEX = '6b'.repeat(32);

let dir: string;
let dataDir: string;
let harness: MosquittoHarness;
let server: PostgresServer;
let database: string;
const members: PoolMember[] = [];
const devices: TandemDevice[] = [];

async function startMember(name: string): Promise<PoolMember> {
  const member = await startPoolMember({ name, dataDir, database, harness, masterKeyHex: MASTER_KEY_HEX, workDir: dir });
  members.push(member);
  return member;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-pool-'));
  dataDir = join(dir, 'cosigner');
  [harness, server] = await Promise.all([startMosquittoHarness(), startPostgresServer()]);
  database = await server.createDatabase('pool');
  // The first member makes the identity and certificate in the shared data directory; the second reads them.
  await startMember('a');
  await startMember('b');
}, 180_000);

afterAll(async () => {
  for (const device of devices) await device.close().catch(() => undefined);
  for (const member of members) await member.kill();
  await harness?.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a pool of two co-signers', () => {
  it('shares the signing between both members, and presence lists both', async () => {
    const caPem = readFileSync(join(dataDir, 'tls', 'server-cert.pem'), 'utf8');
    for (let i = 0; i < 6; i++) {
      const device = await TandemDevice.enroll({ cosignerUrl: members[i % 2]!.url, caPem, file: join(dir, `device-${i}.json`), kind: '2of2' }, { requestTimeoutMs: 8_000 });
      await device.createKey();
      devices.push(device);
    }
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        devices.map(async (device, index) => {
          const message = `pool round ${round} device ${index}`;
          expect(await recoverMessageAddress({ message, signature: await device.signMessage(message) })).toBe(device.address);
        }),
      );
    }
    const [a, b] = await Promise.all(members.map((member) => member.signatures()));
    expect(a! + b!).toBeGreaterThanOrEqual(24);
    // A shared subscription hands conversations to both.
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    // Mosquitto keeps no retained status here: a device learns each member from its heartbeats (10 s).
    await expect.poll(() => devices[0]!.cosignerStatus.onlineInstances?.length, { timeout: 30_000 }).toBe(2);
  }, 180_000);

  it('when one member is killed under load, every request completes on the other or fails with a typed error; none is lost or reuses a nonce', async () => {
    const ledger = new Ledger();
    const outcome = newOutcomes();
    const loops = ledger.signWhile(devices, 'under load', outcome, 30_000);
    await new Promise((done) => setTimeout(done, 1_500));
    await members[0]!.kill();
    // The survivor carries on alone; presence stays online with it.
    await new Promise((done) => setTimeout(done, 4_000));
    await loops.stop();
    expect(outcome.lost).toBe(0);
    expect(outcome.failed_unclear).toBe(0);
    expect(ledger.unclear).toEqual([]);
    expect(ledger.bad).toBe(0);
    expect(ledger.reused).toBe(0);
    expect(outcome.completed).toBeGreaterThan(devices.length);
    const survivorBefore = await members[1]!.signatures();
    // After the kill, every device still signs, on the survivor.
    for (const [index, device] of devices.entries()) {
      const message = `after the kill, device ${index}`;
      expect(await recoverMessageAddress({ message, signature: await device.signMessage(message) })).toBe(device.address);
    }
    expect(await members[1]!.signatures()).toBeGreaterThanOrEqual(survivorBefore + devices.length);
    expect(devices[0]!.cosignerStatus.state).toBe('online');
    await expect.poll(() => devices[0]!.cosignerStatus.onlineInstances?.length, { timeout: 30_000 }).toBe(1);
    console.log(JSON.stringify({ pool_kill: outcome }));
  }, 180_000);

  it('with every member down, a new request waits for one to come back instead of losing its hello', async () => {
    // The same wallet, reopened with a deadline long enough for a member to start.
    await devices[0]!.close();
    const patient = TandemDevice.open(join(dir, 'device-0.json'), { requestTimeoutMs: 60_000 });
    devices.push(patient);
    await patient.connect();
    for (const member of members) await member.kill();
    await expect.poll(() => patient.cosignerStatus.state, { timeout: 40_000 }).toBe('offline');
    const message = 'signed by a member that came back';
    const signing = patient.signMessage(message);
    let settled = false;
    void signing.then(() => (settled = true), () => (settled = true));
    await new Promise((done) => setTimeout(done, 1_500));
    expect(settled).toBe(false);
    await startMember('c');
    expect(await recoverMessageAddress({ message, signature: await signing })).toBe(patient.address);
    expect(await members.at(-1)!.signatures()).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('with every member down, the decision of an approver is sent again until a member is back, and counts', async () => {
    const caPem = readFileSync(join(dataDir, 'tls', 'server-cert.pem'), 'utf8');
    const live = members.at(-1)!;
    const store = await openStore({ dataDir, database, masterKey: masterKeyFromBytes(hexToBytes(MASTER_KEY_HEX), 'env') });
    const trusting: PostJson = (base, path, body) => postJson(base, path, body, { caPem });
    const code = 'pool-approver-code';
    await store.approvals.inviteApprover({ name: 'alice', codeDigest: createHash('sha256').update(code).digest('hex'), expiresAt: Date.now() + 3_600_000 });
    const approver = new ApproverSession(await enrollApprover({ cosignerUrl: live.url, enrollmentCode: code, postJson: trusting, caPem }), { postJson: trusting });
    try {
      await approver.connect();
      const device = devices[1]!;
      await store.setPolicy(device.walletId, { approvals: [{ id: 'all-transactions', when: [{ kind: 'transaction' }], approvers: [approver.approverId], quorum: 1 }] });
      const held = await device
        .signTransaction({ type: 'eip1559', chainId: 31337, to: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', value: 1n, nonce: 0, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n })
        .then(() => undefined, (caught: unknown) => caught);
      expect(held).toBeInstanceOf(CosignerRefusedError);
      expect((held as CosignerRefusedError).code).toBe('APPROVAL_PENDING');
      const requestId = (held as CosignerRefusedError).rule!;
      const shown = (await approver.list()).requests.find((request) => request.requestId === requestId)!;
      expect(shown.state).toBe('pending-approval');

      await live.kill();
      // The decision's first letter finds no member subscribed: the broker drops it.
      const deciding = approver.decide(requestId, 'approve', shown);
      await new Promise((done) => setTimeout(done, 1_000));
      await startMember('d');
      const decided = await deciding;
      expect(decided.counted).toBe(true);
      await expect.poll(async () => (await store.approvals.getRequest(requestId))?.state, { timeout: 30_000 }).toBe('signed');
    } finally {
      await approver.close();
      await store.close();
    }
  }, 180_000);
});
