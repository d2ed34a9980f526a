/**
 * Approvals on a real Mosquitto 2 with persistence: letters for an approver and for a device that
 * are both away wait in their persistent sessions, across broker restarts, and arrive unasked
 * when each comes back; the approved transaction is broadcast and mined on hardhat.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createPublicClient, createWalletClient, http, parseEther, recoverMessageAddress, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { hardhat } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestView } from '../channel/approval-protocol.js';
import { ApproverSession, enrollApprover, type ApproverRecord } from '../channel/approver-session.js';
import type { PostJson } from '../channel/device-session.js';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import { postJson } from '../client/http.js';
import { TandemDevice } from '../client/tandem-device.js';
import { HARDHAT_MNEMONIC, startHardhatNode, type HardhatNode } from '../client/testing/hardhat-node.js';
import { deviceRoleName } from './broker/mosquitto-acls.js';
import { MosquittoDynsec } from './broker/mosquitto-dynsec.js';
import { startMosquittoHarness, type MosquittoHarness } from './broker/mosquitto-harness.js';
import { startCosigner, type RunningCosigner } from './service.js';

const RECIPIENT = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

let dir: string;
let harness: MosquittoHarness;
let chain: HardhatNode;
let cosigner: RunningCosigner;

const trust = (): PostJson => (base, path, body) => postJson(base, path, body, { caPem: cosigner.certPem });

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${harness.logs().split('\n').slice(-20).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-approvals-mosquitto-'));
  harness = await startMosquittoHarness();
  chain = await startHardhatNode();
  cosigner = await startCosigner({
    dataDir: join(dir, 'cosigner'),
    port: 0,
    env: { TANDEM_MASTER_KEY: '36'.repeat(32) },
    log: () => undefined,
    heartbeatMs: 1_000,
    chainRpcUrls: { [hardhat.id]: chain.url },
    external: { url: harness.mtlsUrl, caPem: harness.caPem, certPem: harness.cosigner.certPem, keyPem: harness.cosigner.keyPem, deviceUrl: harness.wssUrl, deviceCaPem: harness.caPem },
  });
}, 120_000);

afterAll(async () => {
  await cosigner?.stop();
  await chain?.stop();
  await harness?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('approvals on Mosquitto', () => {
  it('a device whose broker credentials predate mailboxes renews them on connecting and works on', async () => {
    const device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: join(dir, 'old-device.json'), kind: '2of2' });
    const { address } = await device.createKey();
    const { deviceId } = device;
    await device.close();
    // What an upgrade finds: the device's client without its mailbox role, as provisioned by an older co-signer.
    const admin = mqtt.connect(harness.mtlsUrl, { ca: harness.caPem, cert: harness.cosigner.certPem, key: harness.cosigner.keyPem, clientId: 'test-dynsec-admin', protocolVersion: 4, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      admin.once('connect', () => resolve());
      admin.once('error', reject);
    });
    try {
      const dynsec = await MosquittoDynsec.attach(admin);
      const [answer] = await dynsec.execute([{ command: 'removeClientRole', username: deviceId, rolename: deviceRoleName(deviceId) }]);
      expect(answer?.error).toBeUndefined();
      expect((await dynsec.getDevice(deviceId))!.roles).not.toContain(deviceRoleName(deviceId));
    } finally {
      await new Promise<void>((resolve) => admin.end(false, {}, () => resolve()));
    }
    const reopened = TandemDevice.open(join(dir, 'old-device.json'));
    try {
      expect(await recoverMessageAddress({ message: 'after the upgrade', signature: await reopened.signMessage('after the upgrade') })).toBe(address);
      expect((await reopened.requests()).requests.length).toBeGreaterThan(0);
    } finally {
      await reopened.close();
    }
  }, 60_000);

  it('delivers queued letters to an away approver and an away device across broker restarts; the approved transaction is mined', async () => {
    const code = 'mosquitto-approver-code';
    await cosigner.store.approvals.inviteApprover({ name: 'alice', codeDigest: createHash('sha256').update(code).digest('hex'), expiresAt: Date.now() + 3_600_000 });
    const alice: ApproverRecord = await enrollApprover({ cosignerUrl: cosigner.url, enrollmentCode: code, postJson: trust(), caPem: cosigner.certPem });
    // Alice connects once (her persistent session exists from then on) and goes away.
    const first = new ApproverSession(alice, { postJson: trust() });
    expect((await first.list()).pendingForYou).toBe(0);
    await first.close();

    const deviceFile = join(dir, 'device.json');
    const device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: deviceFile, kind: '2of2' });
    const { address } = await device.createKey();
    const funder = createWalletClient({ account: mnemonicToAccount(HARDHAT_MNEMONIC), chain: hardhat, transport: http(chain.url) });
    await funder.sendTransaction({ to: address, value: parseEther('5') });
    await cosigner.store.setPolicy(device.walletId, { approvals: [{ id: 'all-transactions', when: [{ kind: 'transaction' }], approvers: [alice.approverId], quorum: 1 }] });

    const error = await device
      .signTransaction({ type: 'eip1559', chainId: hardhat.id, to: RECIPIENT, value: parseEther('1'), nonce: 0, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(CosignerRefusedError);
    expect((error as CosignerRefusedError).code).toBe('APPROVAL_PENDING');
    const requestId = (error as CosignerRefusedError).rule!;
    await device.close(); // the device goes away too

    await harness.restart();

    // Alice comes back: the letter announcing the request waited for her through the restart.
    const seen: RequestView[] = [];
    const back = new ApproverSession(alice, { postJson: trust(), onUpdate: (request) => seen.push(request) });
    try {
      await back.connect();
      const announced = await until('the queued announcement', () => seen.find((request) => request.requestId === requestId));
      expect(announced.state).toBe('pending-approval');
      expect(announced.decoded).toMatchObject({ kind: 'transaction', to: RECIPIENT, valueWei: parseEther('1').toString() });
      expect((await back.decide(requestId, 'approve', announced)).counted).toBe(true);
    } finally {
      await back.close();
    }

    const broadcast = await until('the broadcast', async () => {
      const request = await cosigner.store.approvals.getRequest(requestId);
      return request?.state === 'broadcast' || request?.state === 'failed' ? request : undefined;
    });
    expect(broadcast.state).toBe('broadcast');
    const receipt = await createPublicClient({ chain: hardhat, transport: http(chain.url) }).waitForTransactionReceipt({ hash: broadcast.result!.transactionHash as Hex, timeout: 20_000 });
    expect(receipt.status).toBe('success');

    await harness.restart();

    // The device comes back: the results queued for it while it was away arrive unasked.
    const updates: RequestView[] = [];
    const reopened = TandemDevice.open(deviceFile, { onRequestUpdate: (request) => updates.push(request) });
    try {
      await reopened.connect();
      const result = await until('the queued result', () => updates.find((request) => request.requestId === requestId && request.state === 'broadcast'));
      expect(result.result?.transactionHash).toBe(broadcast.result!.transactionHash);
    } finally {
      await reopened.close();
    }
  }, 120_000);
});
