/**
 * Approvals end to end on the embedded broker: a device's request is held for approvers, the
 * device goes away, an approver who was away too comes online, finds it in its mailbox and
 * approves; the co-signer finishes the signature and broadcasts on a real hardhat chain; the
 * device, back, finds the result that waited for it. Also rejection, replays, expiry and a
 * co-signer restart while a request is pending.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, parseEther, recoverTransactionAddress, type Hex, type TransactionSerializable } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { hardhat } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDecision, type RequestView } from '../channel/approval-protocol.js';
import { Identity } from '../channel/identity.js';
import { ApproverSession, enrollApprover, type ApproverRecord } from '../channel/approver-session.js';
import type { PostJson } from '../channel/device-session.js';
import { MailRefusedError } from '../channel/mailbox.js';
import { signWithCosigner } from '../channel/device-protocol.js';
import { CosignerRefusedError, ProtocolConversation } from '../channel/protocol-conversation.js';
import type { DeviceFileContents } from '../client/device-file.js';
import type { ProtocolMessage } from '../mpc/message.js';
import { rawDevice } from './testing/raw-device.js';
import { postJson } from '../client/http.js';
import { TandemDevice } from '../client/tandem-device.js';
import { HARDHAT_MNEMONIC, startHardhatNode, type HardhatNode } from '../client/testing/hardhat-node.js';
import { startCosigner, type CosignerConfig, type RunningCosigner } from './service.js';
import { databasePath, loadMasterKey, openSqliteStore } from './store/index.js';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let dir: string;
let chain: HardhatNode;
let config: CosignerConfig;
let cosigner: RunningCosigner;
let deviceFile: string;
let walletId: string;
let address: Hex;
let alice: ApproverRecord;
let bob: ApproverRecord;
/** Moves the co-signer's clock (expiry) without waiting. */
let clockOffsetMs = 0;

const trust = (): PostJson => (base, path, body) => postJson(base, path, body, { caPem: cosigner.certPem });

async function invite(name: string): Promise<ApproverRecord> {
  const code = `code-${name}-${Date.now()}`;
  await cosigner.store.approvals.inviteApprover({ name, codeDigest: createHash('sha256').update(code).digest('hex'), expiresAt: Date.now() + 3_600_000 });
  return enrollApprover({ cosignerUrl: cosigner.url, enrollmentCode: code, postJson: trust(), caPem: cosigner.certPem });
}

function approverSession(record: ApproverRecord, onUpdate?: (request: RequestView) => void): ApproverSession {
  return new ApproverSession(record, { postJson: trust(), ...(onUpdate ? { onUpdate } : {}) });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function heldRequestId(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CosignerRefusedError);
  expect((error as CosignerRefusedError).code).toBe('APPROVAL_PENDING');
  const requestId = (error as CosignerRefusedError).rule!;
  expect(requestId).toMatch(/^[0-9a-f]{32}$/);
  return requestId;
}

async function transfer(valueEth: string): Promise<TransactionSerializable> {
  const client = createPublicClient({ chain: hardhat, transport: http(chain.url) });
  const nonce = await client.getTransactionCount({ address, blockTag: 'pending' });
  return { type: 'eip1559', chainId: hardhat.id, to: RECIPIENT, value: parseEther(valueEth), nonce, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-approvals-e2e-'));
  chain = await startHardhatNode();
  config = { dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: '35'.repeat(32) }, log: (line) => process.env.TANDEM_TEST_LOG && process.stderr.write(`cosigner: ${line}\n`), chainRpcUrls: { [hardhat.id]: chain.url }, now: () => Date.now() + clockOffsetMs };
  cosigner = await startCosigner(config);
  deviceFile = join(dir, 'device.json');
  const device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: deviceFile, kind: '2of2' });
  ({ address } = await device.createKey());
  walletId = device.walletId;
  await device.close();
  const funder = createWalletClient({ account: mnemonicToAccount(HARDHAT_MNEMONIC), chain: hardhat, transport: http(chain.url) });
  await funder.sendTransaction({ to: address, value: parseEther('10') });
  alice = await invite('alice');
  bob = await invite('bob');
}, 120_000);

afterAll(async () => {
  await cosigner?.stop();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('approvals on the embedded broker', () => {
  it('holds a large transaction; an approver who comes online later approves; it is broadcast and mined; the device finds the result after it was away', async () => {
    await cosigner.store.setPolicy(walletId, { approvals: [{ id: 'large', when: [{ kind: 'transaction', valueAboveWei: parseEther('1').toString() }], approvers: [alice.approverId, bob.approverId], quorum: 1 }] });
    const device = TandemDevice.open(deviceFile);
    // Below the threshold: signed at once, nothing held.
    const small = await device.signTransaction(await transfer('0.5'));
    expect(await recoverTransactionAddress({ serializedTransaction: small as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'] })).toBe(address);
    const tx = await transfer('2');
    const requestId = await heldRequestId(device.signTransaction(tx));
    const held = await device.request(requestId);
    expect(held.state).toBe('pending-approval');
    expect(held.decoded).toMatchObject({ kind: 'transaction', chainId: hardhat.id, to: RECIPIENT, valueWei: parseEther('2').toString() });
    await device.close(); // the device goes away

    const approver = approverSession(alice);
    try {
      const { requests, pendingForYou } = await approver.list();
      expect(pendingForYou).toBe(1);
      const shown = requests.find((request) => request.requestId === requestId)!;
      expect(shown.state).toBe('pending-approval');
      expect(shown.quorums[0]).toMatchObject({ rule: 'large', quorum: 1 });
      const decided = await approver.decide(requestId, 'approve', shown);
      expect(decided.counted).toBe(true);
    } finally {
      await approver.close();
    }

    const broadcast = await until('the broadcast', async () => {
      const request = await cosigner.store.approvals.getRequest(requestId);
      return request?.state === 'broadcast' || request?.state === 'failed' ? request : undefined;
    });
    expect(broadcast.state).toBe('broadcast');
    const client = createPublicClient({ chain: hardhat, transport: http(chain.url) });
    const receipt = await client.waitForTransactionReceipt({ hash: broadcast.result!.transactionHash!, timeout: 20_000 });
    expect(receipt.status).toBe('success');
    expect(receipt.from.toLowerCase()).toBe(address.toLowerCase());
    expect(await recoverTransactionAddress({ serializedTransaction: broadcast.result!.rawTransaction! as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'] })).toBe(address);

    // Back online: the letters queued for the device arrive without asking.
    const updates: RequestView[] = [];
    const back = TandemDevice.open(deviceFile, { onRequestUpdate: (request) => updates.push(request) });
    try {
      await back.connect();
      const last = await until('the queued update', () => updates.find((request) => request.requestId === requestId && request.state === 'broadcast'));
      expect(last.result?.transactionHash).toBe(broadcast.result!.transactionHash);
      expect((await back.request(requestId)).decisions.map((decision) => [decision.name, decision.verdict])).toEqual([['alice', 'approve']]);
    } finally {
      await back.close();
    }
  }, 90_000);

  it('counts a repeated approval once, refuses decisions over another payload or from a non-approver, and rejects once the quorum is out of reach', async () => {
    await cosigner.store.setPolicy(walletId, { approvals: [{ id: 'messages', when: [{ kind: 'message' }], approvers: [alice.approverId, bob.approverId], quorum: 2 }] });
    const device = TandemDevice.open(deviceFile);
    const first = await heldRequestId(device.signMessage('first message'));
    const second = await heldRequestId(device.signMessage('second message'));
    const aliceSession = approverSession(alice);
    const bobSession = approverSession(bob);
    try {
      const shown = await aliceSession.show(first);
      expect(shown.decoded).toEqual({ kind: 'message', text: 'first message', bytes: 13 });
      expect((await aliceSession.decide(first, 'approve', shown)).counted).toBe(true);
      const again = await aliceSession.decide(first, 'approve', shown);
      expect(again.counted).toBe(false);
      expect(again.request.state).toBe('pending-approval');
      expect(again.request.decisions).toHaveLength(1);
      await expect(aliceSession.decide(first, 'reject', shown)).rejects.toThrow(/cannot be changed/);

      // Alice's decision signed over the first request's payload, sent for the second one.
      const secondShown = await aliceSession.show(second);
      await expect(aliceSession.decide(second, 'approve', { ...secondShown, digest: shown.digest, payloadHash: shown.payloadHash, payloadJson: shown.payloadJson })).rejects.toThrow(MailRefusedError);
      expect((await cosigner.store.approvals.getRequest(second))!.decisions).toHaveLength(0);

      // An enrolled approver who is not one of this request's approvers.
      const carolSession = approverSession(await invite('carol'));
      try {
        const error = await carolSession.decide(second, 'approve', secondShown).then(() => undefined, (caught: unknown) => caught);
        expect(error).toBeInstanceOf(MailRefusedError);
        expect((error as MailRefusedError).refusal).toBe('NOT_AN_APPROVER');
      } finally {
        await carolSession.close();
      }

      const rejected = await bobSession.decide(first, 'reject');
      expect(rejected.request.state).toBe('rejected');
      await expect(bobSession.decide(second, 'approve')).resolves.toMatchObject({ counted: true });
      await expect(bobSession.decide(first, 'approve')).rejects.toThrow(/cannot be changed/);
      expect((await cosigner.store.approvals.getRequest(first))!.state).toBe('rejected');
      const refusals = await cosigner.store.audit.list({ walletId, kind: 'refuse' });
      expect(refusals.some((entry) => JSON.stringify(entry.summary).includes('another payload'))).toBe(true);
    } finally {
      await aliceSession.close();
      await bobSession.close();
      await device.close();
    }
  }, 60_000);

  it('counts held transactions toward the daily limit, and does not sign an approved request the policy refuses by then', async () => {
    const approvals = [{ id: 'large', when: [{ kind: 'transaction' as const, valueAboveWei: parseEther('0.1').toString() }], approvers: [alice.approverId], quorum: 1 }];
    await cosigner.store.setPolicy(walletId, { dailyLimitWei: parseEther('100').toString(), approvals });
    const device = TandemDevice.open(deviceFile);
    try {
      const first = await heldRequestId(device.signTransaction(await transfer('0.6')));
      await cosigner.store.setPolicy(walletId, { dailyLimitWei: (await cosigner.store.spentSince(walletId, hardhat.id, 0)) + parseEther('1') + '', approvals });
      // 0.6 ETH is held: another 0.6 would pass the limit once both are approved, so it is refused now.
      const second = await device.signTransaction({ ...(await transfer('0.6')), nonce: 99 }).then(() => undefined, (caught: unknown) => caught);
      expect(second).toBeInstanceOf(CosignerRefusedError);
      expect((second as CosignerRefusedError).code).toBe('POLICY');
      expect((second as CosignerRefusedError).rule).toBe('daily-limit');
      // The operator tightens the limit before anyone approves: the approval no longer gets it signed.
      await cosigner.store.setPolicy(walletId, { dailyLimitWei: '1', approvals });
      const session = approverSession(alice);
      try {
        await session.decide(first, 'approve');
      } finally {
        await session.close();
      }
      const failed = await until('the refusal', async () => {
        const request = await cosigner.store.approvals.getRequest(first);
        return request?.state === 'failed' || request?.state === 'signed' || request?.state === 'broadcast' ? request : undefined;
      });
      expect(failed.state).toBe('failed');
      expect(failed.result?.error).toMatch(/policy now refuses it \(rule daily-limit\)/);
      expect(failed.result?.signature).toBeUndefined();
    } finally {
      await device.close();
    }
  }, 60_000);

  it("tells the device when the operator's removal of an approver (another process's write) rejects its request", async () => {
    const dave = await invite('dave');
    await cosigner.store.setPolicy(walletId, { approvals: [{ id: 'dave-only', when: [{ kind: 'message' }], approvers: [dave.approverId], quorum: 1 }] });
    const updates: RequestView[] = [];
    const device = TandemDevice.open(deviceFile, { onRequestUpdate: (request) => updates.push(request) });
    try {
      const requestId = await heldRequestId(device.signMessage('needs dave'));
      // The operator's CLI writes to the database directly; the co-signer learns of it from the store.
      const operator = openSqliteStore({ path: databasePath(config.dataDir), masterKey: loadMasterKey({ dataDir: config.dataDir, env: config.env! }) });
      try {
        operator.approvals.removeApprover(dave.approverId, 'test');
      } finally {
        operator.close();
      }
      const rejected = await until('the rejection to reach the device', () => updates.find((request) => request.requestId === requestId && request.state === 'rejected'));
      expect(rejected.result?.error).toContain('dave was removed');
    } finally {
      await device.close();
    }
  }, 60_000);

  it('expires a request nobody approved in its window, destroying its presignature, and refuses a late approval', async () => {
    await cosigner.store.setPolicy(walletId, { approvals: [{ id: 'typed', when: [{ kind: 'message' }], approvers: [alice.approverId], quorum: 1, expiresAfterMinutes: 5 }] });
    const device = TandemDevice.open(deviceFile);
    const requestId = await heldRequestId(device.signMessage('too late'));
    await device.close();
    clockOffsetMs += 6 * 60_000;
    const expired = await until('the expiry', async () => ((await cosigner.store.approvals.getRequest(requestId))?.state === 'expired' ? true : undefined));
    expect(expired).toBe(true);
    const session = approverSession(alice);
    try {
      const error = await session.decide(requestId, 'approve').then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(MailRefusedError);
      expect((error as MailRefusedError).refusal).toBe('NOT_PENDING');
    } finally {
      await session.close();
    }
  }, 60_000);

  it('keeps a pending request across a co-signer restart and finishes it after', async () => {
    await cosigner.store.setPolicy(walletId, { approvals: [{ id: 'messages', when: [{ kind: 'message' }], approvers: [alice.approverId], quorum: 1 }] });
    const device = TandemDevice.open(deviceFile);
    const requestId = await heldRequestId(device.signMessage('survives a restart'));
    await device.close();
    await cosigner.stop();
    // Same port: the device and the approvers know the co-signer by its URL.
    cosigner = await startCosigner({ ...config, port: Number(new URL(cosigner.url).port) });
    const session = approverSession(alice);
    try {
      expect((await session.decide(requestId, 'approve')).counted).toBe(true);
    } finally {
      await session.close();
    }
    const signed = await until('the signature', async () => {
      const request = await cosigner.store.approvals.getRequest(requestId);
      return request?.state === 'signed' ? request : undefined;
    });
    const { recoverMessageAddress } = await import('viem');
    expect(await recoverMessageAddress({ message: 'survives a restart', signature: signed.result!.signature! })).toBe(address);
  }, 60_000);
});

describe('an approval the co-signer could not act on in time', () => {
  it('is not signed when the co-signer comes back long after the approval window', async () => {
    await cosigner.store.setPolicy(walletId, { approvals: [{ id: 'messages', when: [{ kind: 'message' }], approvers: [alice.approverId], quorum: 1, expiresAfterMinutes: 10 }] });
    const device = TandemDevice.open(deviceFile);
    const requestId = await heldRequestId(device.signMessage('approved during an outage'));
    await device.close();
    const port = Number(new URL(cosigner.url).port);
    await cosigner.stop();
    // Approved while the co-signer was down (its store written by another process), seen only when it is back, a day later.
    const operator = openSqliteStore({ path: databasePath(config.dataDir), masterKey: loadMasterKey({ dataDir: config.dataDir, env: config.env! }) });
    try {
      const view = (await operator.approvals.getRequest(requestId))!;
      const decision = signDecision(Identity.fromSecretKey(alice.identitySecret), { requestId, walletId, digest: view.digest, payloadHash: view.payloadHash, verdict: 'approve', decidedAt: Date.now() });
      expect((await operator.approvals.recordDecision({ requestId, approverId: alice.approverId, verdict: 'approve', decidedAt: decision.decidedAt, signature: decision.signature })).request.state).toBe('approved');
    } finally {
      operator.close();
    }
    clockOffsetMs += 24 * 60 * 60_000;
    cosigner = await startCosigner({ ...config, port });
    const failed = await until('the stale approval to fail', async () => {
      const request = await cosigner.store.approvals.getRequest(requestId);
      return request?.state === 'failed' || request?.state === 'signed' ? request : undefined;
    });
    expect(failed.state).toBe('failed');
    expect(failed.result?.error).toMatch(/not signed before/);
    expect(failed.result?.signature).toBeUndefined();
  }, 60_000);
});

describe('a bad online message from the device', () => {
  it('is caught when the request is held, not after the approvers acted: the wallet locks at once and nothing waits', async () => {
    await cosigner.store.setPolicy(walletId, { approvals: [{ id: 'messages', when: [{ kind: 'message' }], approvers: [alice.approverId], quorum: 1 }] });
    const device = TandemDevice.open(deviceFile);
    await device.presign(1);
    await device.close();
    const contents = JSON.parse(readFileSync(deviceFile, 'utf8')) as DeviceFileContents;
    const presignature = contents.presignatures[0]!;
    const { channel, transport } = await rawDevice(contents);
    // A device that flips one bit of its online message, inside a correctly encrypted channel.
    class Corrupting extends ProtocolConversation {
      override send(header: Parameters<ProtocolConversation['send']>[0], messages: ProtocolMessage[] = []): Promise<void> {
        if (header.type !== 'sign') return super.send(header, messages);
        return super.send(header, messages.map((message) => {
          const payload = message.payload.slice();
          payload[payload.length - 1]! ^= 0x01;
          return { ...message, payload };
        }));
      }
    }
    try {
      const conversation = await channel.open({ walletId, peerRole: 'cosigner', peerIdentity: contents.cosignerIdentity, expiresAt: Date.now() + 30_000 });
      const link = new Corrupting(conversation);
      link.deadline = Date.now() + 20_000;
      const failed = await signWithCosigner(link, presignature, { kind: 'message', message: 'tampered online message' }, async () => undefined).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(CosignerRefusedError);
      expect(['WALLET_LOCKED', 'PROTOCOL_ABORT']).toContain((failed as CosignerRefusedError).code);
    } finally {
      await channel.close();
      await transport.close();
    }
    expect((await cosigner.store.getWallet(walletId))!.status).toBe('locked');
    // Nothing was held for the approvers (and the lock failed whatever else was waiting).
    const requests = await cosigner.store.approvals.listRequests({ walletId, limit: 500 });
    expect(requests.some((request) => request.payloadJson.includes('tampered online message'))).toBe(false);
    expect(await cosigner.store.approvals.countPending({ walletId })).toBe(0);
    // The way out, as after any failed check: a refresh.
    const owner = TandemDevice.open(deviceFile);
    try {
      await owner.refresh();
      expect((await cosigner.store.getWallet(walletId))!.status).toBe('active');
    } finally {
      await owner.close();
    }
  }, 60_000);
});
