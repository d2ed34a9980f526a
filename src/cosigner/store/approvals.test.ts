import { createHash, randomBytes } from 'node:crypto';
import type { Hex, TransactionSerializable } from 'viem';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { payloadHash, signDecision, type DecisionVerdict, type DecodedRequest, type RequestQuorum, type RequestView } from '../../channel/approval-protocol.js';
import { payloadToWire } from '../../channel/cosigner-protocol.js';
import { Identity } from '../../channel/identity.js';
import { bytesToHex } from '../../mpc/bytes.js';
import { payloadDigest } from '../../mpc/ethereum.js';
import { ConflictError, DecisionRefusedError, NotFoundError, PresignatureUnavailableError, WalletLockedError } from './errors.js';
import type { MasterKey } from './master-key.js';
import { attempt, clock, enrollActiveWallet, newId, newMasterKey, storeBackends, thrown, type BackendDatabase } from './test-helpers.js';
import type { ApprovalStore, CosignerStore, HeldRequestInput } from './types.js';

const MINUTE = 60_000;
const PRESIG_MARKER = 'HELD-PRESIGNATURE-MARKER-5b21e9';

let db: BackendDatabase;
let masterKey: MasterKey;
let time: ReturnType<typeof clock>;
let store: CosignerStore;

const open = () => db.open({ masterKey, now: time.now });
const approvals = () => store.approvals;

async function refusal(run: () => unknown): Promise<string> {
  const error = await thrown(run);
  expect(error).toBeInstanceOf(DecisionRefusedError);
  return (error as DecisionRefusedError).code;
}

const codeDigest = (code: string) => createHash('sha256').update(code).digest('hex');

interface Approver {
  approverId: string;
  name: string;
  identity: Identity;
}

/** Invites and enrolls an approver with an identity key of its own. */
async function enrollApprover(name: string): Promise<Approver> {
  const code = randomBytes(16).toString('hex');
  await approvals().inviteApprover({ name, codeDigest: codeDigest(code), expiresAt: time.now() + 10 * MINUTE, actor: 'test' });
  const identity = Identity.generate();
  const record = await approvals().enrollApprover({ codeDigest: codeDigest(code), approverId: identity.deviceId, identityPublicKey: identity.publicKeyHex });
  return { approverId: record.approverId, name, identity };
}

const transaction: TransactionSerializable = {
  type: 'eip1559',
  chainId: 1,
  nonce: 3,
  to: '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
  value: 2_000_000_000_000_000_000n,
  gas: 21_000n,
  maxFeePerGas: 30_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
};

const decoded: DecodedRequest = { kind: 'transaction', chainId: 1, to: transaction.to!, valueWei: String(transaction.value), nonce: 3, selector: null, dataBytes: 0 };

function quorum(rule: string, count: number, approvers: Approver[]): RequestQuorum {
  return { rule, quorum: count, approvers: approvers.map(({ approverId, name }) => ({ approverId, name })) };
}

let presignatureCounter = 0;

/** Puts a fresh presignature and holds a request on it. */
async function hold(
  wallet: { walletId: string; deviceId: string },
  quorums: RequestQuorum[],
  options: { expiresInMs?: number; requestId?: string; presignatureId?: string; deviceMessages?: string[] } = {},
): Promise<{ view: RequestView; input: HeldRequestInput; state: string; deviceMessages: string[] }> {
  const presignatureId = options.presignatureId ?? `p${(presignatureCounter += 1)}`;
  const state = `{"presig":"${PRESIG_MARKER}-${presignatureId}"}`;
  if (options.presignatureId === undefined) await store.putPresignature({ walletId: wallet.walletId, presignatureId, state });
  const payload = { kind: 'transaction' as const, transaction: { ...transaction, nonce: presignatureCounter } };
  const payloadJson = JSON.stringify(payloadToWire(payload));
  const input: HeldRequestInput = {
    requestId: options.requestId ?? newId(),
    walletId: wallet.walletId,
    deviceId: wallet.deviceId,
    presignatureId,
    payloadJson,
    digest: `0x${bytesToHex(payloadDigest(payload))}` as Hex,
    payloadHash: payloadHash(payloadJson),
    decoded,
    quorums,
    expiresAt: time.now() + (options.expiresInMs ?? 60 * MINUTE),
  };
  const deviceMessages = options.deviceMessages ?? [randomBytes(40).toString('hex'), randomBytes(24).toString('hex')];
  const view = await store.holdSignRequest(input, deviceMessages);
  return { view, input, state, deviceMessages };
}

async function decide(view: RequestView, approver: Approver, verdict: DecisionVerdict) {
  const decision = signDecision(approver.identity, { requestId: view.requestId, walletId: view.walletId, digest: view.digest, payloadHash: view.payloadHash, verdict, decidedAt: time.now() });
  return await approvals().recordDecision({ requestId: view.requestId, approverId: approver.approverId, verdict, decidedAt: decision.decidedAt, signature: decision.signature });
}

const getRequest = async (requestId: string) => await approvals().getRequest(requestId);
const listRequests = async (filter: Parameters<ApprovalStore['listRequests']>[0] = {}) => await approvals().listRequests(filter);

/** The raw row, read beside the store. */
async function rawRequestRow(requestId: string): Promise<{ state: string; sealed: Uint8Array | null }> {
  const [row] = await db.raw<{ state: string; sealed: Uint8Array | null }>('SELECT state, sealed FROM approval_requests WHERE request_id = ?', requestId);
  return { state: row!.state, sealed: row!.sealed };
}

describe.each(storeBackends())('$name', (backend) => {
  beforeEach(async () => {
    db = await backend.create();
    masterKey = newMasterKey();
    time = clock();
    store = await open();
  });
  afterEach(async () => {
    await store.close();
    await db.remove();
  });

  describe('approvers', () => {
    it('invites and enrolls an approver with a one-time code, audited', async () => {
      const code = 'invite-code-1';
      const expiresAt = time.now() + 10 * MINUTE;
      await approvals().inviteApprover({ name: 'alice', codeDigest: codeDigest(code), expiresAt, actor: 'ops' });
      const identity = Identity.generate();
      time.advance(MINUTE);
      const record = await approvals().enrollApprover({ codeDigest: codeDigest(code), approverId: identity.deviceId, identityPublicKey: identity.publicKeyHex });
      expect(record).toEqual({ approverId: identity.deviceId, name: 'alice', identityPublicKey: identity.publicKeyHex, status: 'active', createdAt: time.now() });
      expect(await approvals().getApprover(identity.deviceId)).toEqual(record);
      expect(await approvals().listApprovers()).toEqual([record]);
      expect((await store.audit.list({ kind: 'admin' }))[0]?.summary).toMatchObject({ action: 'invite-approver', name: 'alice', actor: 'ops', expiresAt: new Date(expiresAt).toISOString() });
      expect((await store.audit.list({ kind: 'enroll' }))[0]?.summary).toEqual({ approverId: identity.deviceId, name: 'alice', identityPublicKey: identity.publicKeyHex });
      expect(JSON.stringify(await store.audit.list())).not.toContain(code);
    });

    it('uses a code once', async () => {
      await approvals().inviteApprover({ name: 'alice', codeDigest: codeDigest('once'), expiresAt: time.now() + MINUTE });
      const first = Identity.generate();
      await approvals().enrollApprover({ codeDigest: codeDigest('once'), approverId: first.deviceId, identityPublicKey: first.publicKeyHex });
      const second = Identity.generate();
      expect(await thrown(async () => await approvals().enrollApprover({ codeDigest: codeDigest('once'), approverId: second.deviceId, identityPublicKey: second.publicKeyHex }))).toBeInstanceOf(ConflictError);
      expect(await approvals().getApprover(second.deviceId)).toBeUndefined();
      expect(await thrown(async () => await approvals().enrollApprover({ codeDigest: codeDigest('never issued'), approverId: second.deviceId, identityPublicKey: second.publicKeyHex }))).toBeInstanceOf(ConflictError);
    });

    it('refuses an expired code, and accepts it until its expiry', async () => {
      await approvals().inviteApprover({ name: 'late', codeDigest: codeDigest('late'), expiresAt: time.now() + MINUTE });
      await approvals().inviteApprover({ name: 'early', codeDigest: codeDigest('early'), expiresAt: time.now() + MINUTE });
      time.advance(MINUTE - 1);
      const early = Identity.generate();
      expect((await approvals().enrollApprover({ codeDigest: codeDigest('early'), approverId: early.deviceId, identityPublicKey: early.publicKeyHex })).status).toBe('active');
      time.advance(1);
      const late = Identity.generate();
      expect(await thrown(async () => await approvals().enrollApprover({ codeDigest: codeDigest('late'), approverId: late.deviceId, identityPublicKey: late.publicKeyHex }))).toBeInstanceOf(ConflictError);
      expect(await approvals().getApprover(late.deviceId)).toBeUndefined();
    });

    it('a new invitation for a name replaces its unused one', async () => {
      await approvals().inviteApprover({ name: 'alice', codeDigest: codeDigest('first'), expiresAt: time.now() + MINUTE });
      await approvals().inviteApprover({ name: 'alice', codeDigest: codeDigest('second'), expiresAt: time.now() + MINUTE });
      const identity = Identity.generate();
      expect(await thrown(async () => await approvals().enrollApprover({ codeDigest: codeDigest('first'), approverId: identity.deviceId, identityPublicKey: identity.publicKeyHex }))).toBeInstanceOf(ConflictError);
      expect((await approvals().enrollApprover({ codeDigest: codeDigest('second'), approverId: identity.deviceId, identityPublicKey: identity.publicKeyHex })).name).toBe('alice');
    });

    it('refuses a second approver of the same name while the first is active, allows it once removed', async () => {
      const alice = await enrollApprover('alice');
      expect(await thrown(async () => await approvals().inviteApprover({ name: 'alice', codeDigest: codeDigest('again'), expiresAt: time.now() + MINUTE }))).toBeInstanceOf(ConflictError);
      await approvals().removeApprover(alice.approverId);
      const again = await enrollApprover('alice');
      expect(await approvals().getApprover(again.approverId)).toMatchObject({ name: 'alice', status: 'active' });
    });

    it('refuses an identity key enrolled already, as an approver or as a device', async () => {
      const alice = await enrollApprover('alice');
      await approvals().inviteApprover({ name: 'bob', codeDigest: codeDigest('bob'), expiresAt: time.now() + MINUTE });
      expect(await thrown(async () => await approvals().enrollApprover({ codeDigest: codeDigest('bob'), approverId: newId(), identityPublicKey: alice.identity.publicKeyHex }))).toBeInstanceOf(ConflictError);
      const device = Identity.generate();
      const walletId = newId();
      await store.enroll({ walletId, deviceId: device.deviceId, identityPublicKey: device.publicKeyHex, threshold: 2, parties: [1, 2] });
      expect(await thrown(async () => await approvals().enrollApprover({ codeDigest: codeDigest('bob'), approverId: device.deviceId, identityPublicKey: device.publicKeyHex }))).toBeInstanceOf(ConflictError);
      // The refusals did not use up the code.
      const bob = Identity.generate();
      expect((await approvals().enrollApprover({ codeDigest: codeDigest('bob'), approverId: bob.deviceId, identityPublicKey: bob.publicKeyHex })).name).toBe('bob');
    });

    it('removes an approver once, audited as revoke; unknown approvers are not found', async () => {
      const alice = await enrollApprover('alice');
      time.advance(MINUTE);
      const removed = await approvals().removeApprover(alice.approverId, 'ops');
      expect(removed).toMatchObject({ approverId: alice.approverId, status: 'removed', removedAt: time.now() });
      expect(await approvals().getApprover(alice.approverId)).toMatchObject({ status: 'removed', removedAt: time.now() });
      time.advance(MINUTE);
      expect(await approvals().removeApprover(alice.approverId)).toMatchObject({ status: 'removed', removedAt: time.now() - MINUTE });
      const revokes = await store.audit.list({ kind: 'revoke' });
      expect(revokes).toHaveLength(1);
      expect(revokes[0]?.summary).toEqual({ approverId: alice.approverId, name: 'alice', actor: 'ops' });
      expect(await thrown(async () => await approvals().removeApprover(newId()))).toBeInstanceOf(NotFoundError);
    });
  });

  describe('holding a request', () => {
    it('takes the presignature and keeps the request pending with its quorums, audited as hold', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob] = [await enrollApprover('alice'), await enrollApprover('bob')];
      await store.putPresignature({ walletId: wallet.walletId, presignatureId: 'spare', state: 'spare-state' });
      const { view, input, state } = await hold(wallet, [quorum('large', 1, [alice, bob])]);
      expect(await thrown(async () => await store.consumePresignature(wallet.walletId, input.presignatureId))).toBeInstanceOf(PresignatureUnavailableError);
      expect(await store.countReadyPresignatures(wallet.walletId)).toBe(1);
      expect(view).toEqual({
        requestId: input.requestId,
        walletId: wallet.walletId,
        address: '0x52908400098527886E0F7030069857D2E4169EE7',
        deviceId: wallet.deviceId,
        state: 'pending-approval',
        createdAt: time.now(),
        expiresAt: input.expiresAt,
        updatedAt: time.now(),
        payloadJson: input.payloadJson,
        digest: input.digest,
        payloadHash: input.payloadHash,
        decoded,
        quorums: [{ rule: 'large', quorum: 1, approvers: [{ approverId: alice.approverId, name: 'alice' }, { approverId: bob.approverId, name: 'bob' }] }],
        decisions: [],
      });
      expect(await getRequest(input.requestId)).toEqual(view);
      const holds = await store.audit.list({ walletId: wallet.walletId, kind: 'hold' });
      expect(holds).toHaveLength(1);
      expect(holds[0]).toMatchObject({
        deviceId: wallet.deviceId,
        summary: { requestId: input.requestId, digest: input.digest, payloadHash: input.payloadHash, rules: ['large'], expiresAt: new Date(input.expiresAt).toISOString() },
      });
      expect(JSON.stringify(await store.audit.list())).not.toContain(PRESIG_MARKER);
      // The held state is sealed: the row holds no plaintext of it.
      const row = await rawRequestRow(input.requestId);
      expect(row.sealed).not.toBeNull();
      expect(Buffer.from(row.sealed!).includes(Buffer.from(state))).toBe(false);
      expect(Buffer.from(row.sealed!).includes(Buffer.from(PRESIG_MARKER))).toBe(false);
    });

    it('refuses to hold on a presignature that is used or unknown, and keeps nothing', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      await store.putPresignature({ walletId: wallet.walletId, presignatureId: 'used', state: 's' });
      await store.consumePresignature(wallet.walletId, 'used');
      const requestId = newId();
      expect(await thrown(async () => await hold(wallet, [quorum('r', 1, [alice])], { presignatureId: 'used', requestId }))).toBeInstanceOf(PresignatureUnavailableError);
      expect(await thrown(async () => await hold(wallet, [quorum('r', 1, [alice])], { presignatureId: 'missing', requestId }))).toBeInstanceOf(PresignatureUnavailableError);
      expect(await getRequest(requestId)).toBeUndefined();
      expect(await store.audit.list({ kind: 'hold' })).toEqual([]);
    });

    it('refuses a request id twice and then leaves the second presignature unspent', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const { input } = await hold(wallet, [quorum('r', 1, [alice])]);
      await store.putPresignature({ walletId: wallet.walletId, presignatureId: 'second', state: 'second-state' });
      expect(await thrown(async () => await hold(wallet, [quorum('r', 1, [alice])], { presignatureId: 'second', requestId: input.requestId }))).toBeInstanceOf(ConflictError);
      expect(await store.countReadyPresignatures(wallet.walletId)).toBe(1);
      expect(await store.consumePresignature(wallet.walletId, 'second')).toBe('second-state');
    });

    it('refuses to hold for a locked wallet', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      await store.putPresignature({ walletId: wallet.walletId, presignatureId: 'x', state: 's' });
      await store.lockWallet(wallet.walletId, 'check failed');
      expect(await thrown(async () => await hold(wallet, [quorum('r', 1, [alice])], { presignatureId: 'x' }))).toBeInstanceOf(WalletLockedError);
    });
  });

  describe('decisions', () => {
    it('refuses a decision from someone who is not an approver of the request, and on an unknown request', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, mallory] = [await enrollApprover('alice'), await enrollApprover('mallory')];
      const { view } = await hold(wallet, [quorum('r', 1, [alice])]);
      expect(await refusal(async () => await decide(view, mallory, 'approve'))).toBe('NOT_AN_APPROVER');
      expect(await refusal(async () => await decide({ ...view, requestId: newId() }, alice, 'approve'))).toBe('UNKNOWN_REQUEST');
      expect(await getRequest(view.requestId)).toMatchObject({ state: 'pending-approval', decisions: [] });
      expect(await store.audit.list({ kind: 'decision' })).toEqual([]);
    });

    it('counts the same decision twice once, and refuses a changed one', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob, carol] = [await enrollApprover('alice'), await enrollApprover('bob'), await enrollApprover('carol')];
      const { view } = await hold(wallet, [quorum('two', 2, [alice, bob, carol])]);
      const first = await decide(view, alice, 'approve');
      expect(first.counted).toBe(true);
      expect(first.request.state).toBe('pending-approval');
      time.advance(1000);
      const again = await decide(view, alice, 'approve');
      expect(again.counted).toBe(false);
      expect(again.request.state).toBe('pending-approval');
      expect(again.request.decisions).toHaveLength(1);
      expect(await refusal(async () => await decide(view, alice, 'reject'))).toBe('CONFLICTING_DECISION');
      expect((await getRequest(view.requestId))!.decisions).toEqual([{ approverId: alice.approverId, name: 'alice', verdict: 'approve', decidedAt: first.request.decisions[0]!.decidedAt, signature: first.request.decisions[0]!.signature }]);
      expect(await store.audit.list({ kind: 'decision' })).toHaveLength(1);
    });

    it('2 of 3: pending after one approval, approved after the second, audited; later decisions are refused', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob, carol] = [await enrollApprover('alice'), await enrollApprover('bob'), await enrollApprover('carol')];
      const { view } = await hold(wallet, [quorum('two', 2, [alice, bob, carol])]);
      expect((await decide(view, alice, 'approve')).request.state).toBe('pending-approval');
      time.advance(MINUTE);
      const second = await decide(view, carol, 'approve');
      expect(second).toMatchObject({ counted: true, request: { state: 'approved', updatedAt: time.now() } });
      expect(second.request.decisions.map((d) => [d.name, d.verdict])).toEqual([['alice', 'approve'], ['carol', 'approve']]);
      expect(await refusal(async () => await decide(view, bob, 'approve'))).toBe('NOT_PENDING');
      const audit = await store.audit.list({ walletId: wallet.walletId, kind: 'decision' });
      expect(audit.map((entry) => entry.summary.outcome)).toEqual(['pending', 'approved']);
      expect(audit[1]?.summary).toMatchObject({ requestId: view.requestId, approverId: carol.approverId, verdict: 'approve', digest: view.digest, payloadHash: view.payloadHash, signature: second.request.decisions[1]!.signature });
      expect(await approvals().listApprovedUnsigned()).toEqual([view.requestId]);
    });

    it('rejects once rejections make the quorum unreachable, and wipes the held state', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob, carol] = [await enrollApprover('alice'), await enrollApprover('bob'), await enrollApprover('carol')];
      const { view } = await hold(wallet, [quorum('two', 2, [alice, bob, carol])]);
      expect((await decide(view, alice, 'reject')).request.state).toBe('pending-approval');
      const rejected = await decide(view, bob, 'reject');
      expect(rejected.request.state).toBe('rejected');
      expect(rejected.request.result?.error).toContain('two');
      expect((await rawRequestRow(view.requestId)).sealed).toBeNull();
      expect(await refusal(async () => await store.takeApprovedRequest(view.requestId, {}))).toBe('NOT_PENDING');
      expect(await refusal(async () => await decide(view, carol, 'approve'))).toBe('NOT_PENDING');
      expect((await store.audit.list({ walletId: wallet.walletId, kind: 'refuse' }))[0]?.summary).toMatchObject({ requestId: view.requestId, requestState: 'rejected' });
    });

    it('1 of 1: one rejection rejects', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const { view } = await hold(wallet, [quorum('solo', 1, [alice])]);
      expect((await decide(view, alice, 'reject')).request.state).toBe('rejected');
    });

    it('needs every rule met', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob, carol] = [await enrollApprover('alice'), await enrollApprover('bob'), await enrollApprover('carol')];
      const { view } = await hold(wallet, [quorum('finance', 1, [alice, bob]), quorum('security', 1, [carol])]);
      expect((await decide(view, alice, 'approve')).request.state).toBe('pending-approval');
      expect((await decide(view, bob, 'approve')).request.state).toBe('pending-approval');
      expect((await decide(view, carol, 'approve')).request.state).toBe('approved');
    });

    it('refuses a decision after the request expired', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob] = [await enrollApprover('alice'), await enrollApprover('bob')];
      const { view } = await hold(wallet, [quorum('two', 2, [alice, bob])], { expiresInMs: 30 * MINUTE });
      time.advance(30 * MINUTE - 1);
      expect((await decide(view, alice, 'approve')).counted).toBe(true);
      time.advance(1);
      expect(await refusal(async () => await decide(view, bob, 'approve'))).toBe('EXPIRED');
      expect(await getRequest(view.requestId)).toMatchObject({ state: 'pending-approval' });
      expect((await getRequest(view.requestId))!.decisions).toHaveLength(1);
    });
  });

  describe('expiry', () => {
    it('expireDue moves pending requests past their expiry to expired and wipes what they held', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob] = [await enrollApprover('alice'), await enrollApprover('bob')];
      const soon = (await hold(wallet, [quorum('r', 2, [alice, bob])], { expiresInMs: 10 * MINUTE })).view;
      const later = (await hold(wallet, [quorum('r', 2, [alice, bob])], { expiresInMs: 60 * MINUTE })).view;
      const approved = (await hold(wallet, [quorum('r', 1, [alice, bob])], { expiresInMs: 10 * MINUTE })).view;
      await decide(approved, alice, 'approve');
      expect(await approvals().expireDue()).toEqual([]);
      time.advance(10 * MINUTE);
      const expired = await approvals().expireDue();
      expect(expired.map((request) => request.requestId)).toEqual([soon.requestId]);
      expect(expired[0]).toMatchObject({ state: 'expired', updatedAt: time.now() });
      expect(expired[0]!.result?.error).toContain('Not approved before');
      expect(await rawRequestRow(soon.requestId)).toEqual({ state: 'expired', sealed: null });
      expect((await getRequest(later.requestId))!.state).toBe('pending-approval');
      // Approval came in time: the approved request stays approved, its state kept for signing.
      expect((await getRequest(approved.requestId))!.state).toBe('approved');
      expect((await rawRequestRow(approved.requestId)).sealed).not.toBeNull();
      expect(await approvals().expireDue()).toEqual([]);
      expect(await refusal(async () => await decide(soon, alice, 'approve'))).toBe('NOT_PENDING');
      expect((await store.audit.list({ kind: 'refuse' })).map((entry) => entry.summary.requestId)).toEqual([soon.requestId]);
    });
  });

  describe('settled requests', () => {
    it('records one that never waited, once: a second with its id is a ConflictError and changes nothing', async () => {
      const wallet = await enrollActiveWallet(store);
      const payloadJson = JSON.stringify(payloadToWire({ kind: 'transaction', transaction }));
      const input = {
        requestId: newId(),
        walletId: wallet.walletId,
        deviceId: wallet.deviceId,
        payloadJson,
        digest: `0x${bytesToHex(payloadDigest({ kind: 'transaction', transaction }))}` as Hex,
        payloadHash: payloadHash(payloadJson),
        decoded,
        state: 'signed' as const,
        result: { signature: `0x${'11'.repeat(65)}` as Hex },
        generation: 0,
      };
      expect(await approvals().recordSettled(input)).toBeUndefined();
      const recorded = await getRequest(input.requestId);
      expect(recorded).toMatchObject({ requestId: input.requestId, walletId: wallet.walletId, state: 'signed', digest: input.digest, result: input.result, decisions: [] });
      expect(await thrown(async () => await approvals().recordSettled({ ...input, state: 'failed', result: { error: 'again' } }))).toBeInstanceOf(ConflictError);
      expect(await getRequest(input.requestId)).toEqual(recorded);
    });
  });

  describe('taking an approved request', () => {
    it('returns the held presignature state and device messages exactly once, and audits the signing', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const { view, state, deviceMessages } = await hold(wallet, [quorum('r', 1, [alice])]);
      await decide(view, alice, 'approve');
      time.advance(MINUTE);
      const taken = await store.takeApprovedRequest(view.requestId, { deviceId: wallet.deviceId, summary: { kind: 'transaction', chainId: 1 }, spend: { chainId: 1, valueWei: 5n } });
      expect(taken.presignature).toBe(state);
      expect(taken.deviceMessages).toEqual(deviceMessages);
      expect(taken.view).toMatchObject({ requestId: view.requestId, state: 'approved' });
      expect(await rawRequestRow(view.requestId)).toEqual({ state: 'approved', sealed: null });
      const second = await thrown(async () => await store.takeApprovedRequest(view.requestId, {}));
      expect(second).toBeInstanceOf(DecisionRefusedError);
      expect((second as DecisionRefusedError).code).toBe('NOT_PENDING');
      const signs = await store.audit.list({ walletId: wallet.walletId, kind: 'sign' });
      expect(signs).toHaveLength(1);
      expect(signs[0]).toMatchObject({ deviceId: wallet.deviceId, summary: { kind: 'transaction', chainId: 1, requestId: view.requestId } });
      expect(await store.spentSince(wallet.walletId, 1, 0)).toBe(5n);
      expect(await approvals().listApprovedUnsigned()).toEqual([]);
    });

    it('does not count again a transaction whose digest the ledger already holds, nor hold it to the limit again', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const { view, input } = await hold(wallet, [quorum('r', 1, [alice])]);
      await decide(view, alice, 'approve');
      // The same transaction was signed already (directly, or by a member that died before answering).
      const value = transaction.value!;
      await store.recordSignature(wallet.walletId, { summary: {}, spend: { chainId: 1, valueWei: value, digest: input.digest } });
      // A limit of exactly one such transaction: counted twice, this would be refused.
      await store.takeApprovedRequest(view.requestId, { summary: {}, spend: { chainId: 1, valueWei: value, digest: input.digest, limit: { limitWei: value, sinceMs: 0 } } });
      expect(await store.spentSince(wallet.walletId, 1, 0)).toBe(value);
      const signs = await store.audit.list({ walletId: wallet.walletId, kind: 'sign' });
      expect(signs.map((entry) => entry.summary.spentBefore ?? false)).toEqual([false, true]);
    });

    it('refuses a pending request and an unknown one, without spending the held state', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const { view, state } = await hold(wallet, [quorum('r', 1, [alice])]);
      expect(await refusal(async () => await store.takeApprovedRequest(view.requestId, {}))).toBe('NOT_PENDING');
      expect(await thrown(async () => await store.takeApprovedRequest(newId(), {}))).toBeInstanceOf(NotFoundError);
      expect(await store.audit.list({ kind: 'sign' })).toEqual([]);
      await decide(view, alice, 'approve');
      expect((await store.takeApprovedRequest(view.requestId, {})).presignature).toBe(state);
    });

    it('finishes a taken request as signed, then broadcast, merging the results', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const { view } = await hold(wallet, [quorum('r', 1, [alice])]);
      await decide(view, alice, 'approve');
      await store.takeApprovedRequest(view.requestId, {});
      const signature = `0x${'11'.repeat(65)}` as Hex;
      const transactionHash = `0x${'22'.repeat(32)}` as Hex;
      expect(await approvals().finish(view.requestId, 'signed', { signature })).toMatchObject({ state: 'signed', result: { signature } });
      expect(await approvals().finish(view.requestId, 'broadcast', { transactionHash })).toMatchObject({ state: 'broadcast', result: { signature, transactionHash } });
      expect(await refusal(async () => await approvals().finish(view.requestId, 'failed', { error: 'late' }))).toBe('NOT_PENDING');
    });

    it('failInterrupted fails approved requests whose state was taken but never finished, and nothing else', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const interrupted = (await hold(wallet, [quorum('r', 1, [alice])])).view;
      const waiting = (await hold(wallet, [quorum('r', 1, [alice])])).view;
      const pending = (await hold(wallet, [quorum('r', 1, [alice])])).view;
      await decide(interrupted, alice, 'approve');
      await decide(waiting, alice, 'approve');
      await store.takeApprovedRequest(interrupted.requestId, {});
      const failed = await approvals().failInterrupted();
      expect(failed.map((request) => request.requestId)).toEqual([interrupted.requestId]);
      expect(failed[0]).toMatchObject({ state: 'failed' });
      expect(failed[0]!.result?.error).toContain('stopped while signing');
      expect((await getRequest(waiting.requestId))!.state).toBe('approved');
      expect((await getRequest(pending.requestId))!.state).toBe('pending-approval');
      expect(await approvals().listApprovedUnsigned()).toEqual([waiting.requestId]);
      expect(await approvals().failInterrupted()).toEqual([]);
    });
  });

  describe('dropping presignatures fails held requests', () => {
    async function twoWallets() {
      const alice = await enrollApprover('alice');
      const mine = await enrollActiveWallet(store);
      const other = await enrollActiveWallet(store);
      const pending = (await hold(mine, [quorum('r', 1, [alice])])).view;
      const approved = (await hold(mine, [quorum('r', 1, [alice])])).view;
      await decide(approved, alice, 'approve');
      const elsewhere = (await hold(other, [quorum('r', 1, [alice])])).view;
      return { alice, mine, pending, approved, elsewhere };
    }

    it('lockWallet fails the pending and approved requests of that wallet only', async () => {
      const { alice, mine, pending, approved, elsewhere } = await twoWallets();
      time.advance(MINUTE);
      await store.lockWallet(mine.walletId, 'check failed');
      for (const request of [pending, approved]) {
        expect(await getRequest(request.requestId)).toMatchObject({ state: 'failed', updatedAt: time.now() });
        expect((await getRequest(request.requestId))!.result?.error).toContain('locked');
        expect((await rawRequestRow(request.requestId)).sealed).toBeNull();
      }
      expect((await getRequest(elsewhere.requestId))!.state).toBe('pending-approval');
      expect(await refusal(async () => await decide(pending, alice, 'approve'))).toBe('NOT_PENDING');
      expect(await thrown(async () => await store.takeApprovedRequest(approved.requestId, {}))).toBeInstanceOf(WalletLockedError);
    });

    it('replaceShare (a refresh) fails them too, and the approved one can no longer be taken', async () => {
      const { mine, pending, approved, elsewhere } = await twoWallets();
      await store.replaceShare({ walletId: mine.walletId, share: 'share-g1', generation: 1 });
      expect((await getRequest(pending.requestId))!.state).toBe('failed');
      expect((await getRequest(approved.requestId))!.state).toBe('failed');
      expect((await getRequest(elsewhere.requestId))!.state).toBe('pending-approval');
      expect(await refusal(async () => await store.takeApprovedRequest(approved.requestId, {}))).toBe('NOT_PENDING');
    });

    it('deleteAllPresignatures fails them too', async () => {
      const { mine, pending, approved } = await twoWallets();
      await store.deleteAllPresignatures(mine.walletId);
      expect((await getRequest(pending.requestId))!.state).toBe('failed');
      expect((await getRequest(approved.requestId))!.state).toBe('failed');
    });

    it('leaves a request whose state was already taken for signing alone', async () => {
      const { mine, approved } = await twoWallets();
      await store.takeApprovedRequest(approved.requestId, {});
      await store.lockWallet(mine.walletId, 'check failed');
      expect((await getRequest(approved.requestId))!.state).toBe('approved');
      expect((await approvals().finish(approved.requestId, 'signed', {})).state).toBe('signed');
    });
  });

  describe('listing', () => {
    it('filters by wallet, device, approver and state, newest first, and counts pending', async () => {
      const [alice, bob, carol] = [await enrollApprover('alice'), await enrollApprover('bob'), await enrollApprover('carol')];
      const w1 = await enrollActiveWallet(store);
      const w2 = await enrollActiveWallet(store);
      const a = (await hold(w1, [quorum('r', 1, [alice, bob])])).view;
      time.advance(1000);
      const b = (await hold(w1, [quorum('r', 1, [carol])])).view;
      time.advance(1000);
      const c = (await hold(w2, [quorum('r', 2, [alice, carol])])).view;
      time.advance(1000);
      await decide(b, carol, 'approve');

      const ids = (requests: RequestView[]) => requests.map((request) => request.requestId);
      expect(ids(await listRequests())).toEqual([c.requestId, b.requestId, a.requestId]);
      expect(ids(await listRequests({ walletId: w1.walletId }))).toEqual([b.requestId, a.requestId]);
      expect(ids(await listRequests({ deviceId: w2.deviceId }))).toEqual([c.requestId]);
      expect(ids(await listRequests({ approverId: alice.approverId }))).toEqual([c.requestId, a.requestId]);
      expect(ids(await listRequests({ approverId: bob.approverId }))).toEqual([a.requestId]);
      expect(ids(await listRequests({ approverId: carol.approverId }))).toEqual([c.requestId, b.requestId]);
      expect(ids(await listRequests({ states: ['approved'] }))).toEqual([b.requestId]);
      expect(ids(await listRequests({ states: ['pending-approval', 'approved'], walletId: w1.walletId }))).toEqual([b.requestId, a.requestId]);
      expect(ids(await listRequests({ approverId: carol.approverId, states: ['pending-approval'] }))).toEqual([c.requestId]);
      expect(ids(await listRequests({ limit: 1 }))).toEqual([c.requestId]);
      expect(await listRequests({ approverId: newId() })).toEqual([]);

      expect(await approvals().countPending({ walletId: w1.walletId })).toBe(1);
      expect(await approvals().countPending({ walletId: w2.walletId })).toBe(1);
      expect(await approvals().countPending({})).toBe(2);
      expect(await approvals().countPending({ approverId: alice.approverId })).toBe(2);
      await decide(c, alice, 'approve');
      // Alice decided on c: it no longer waits for her, though it still waits for carol.
      expect(await approvals().countPending({ approverId: alice.approverId })).toBe(1);
      expect(await approvals().countPending({ approverId: carol.approverId })).toBe(1);
      expect(await approvals().countPending({ approverId: bob.approverId })).toBe(1);
    });

    it('lists by approver exactly: a rule or a name that looks like an approver id does not make one', async () => {
      const [alice, bob] = [await enrollApprover('alice'), await enrollApprover('bob')];
      const wallet = await enrollActiveWallet(store);
      // An operator may name a rule with 32 hex characters; it is no approver.
      const named = (await hold(wallet, [{ rule: bob.approverId, quorum: 1, approvers: [{ approverId: alice.approverId, name: bob.approverId }] }])).view;
      expect((await listRequests({ approverId: alice.approverId })).map((request) => request.requestId)).toEqual([named.requestId]);
      expect(await listRequests({ approverId: bob.approverId })).toEqual([]);
      expect(await approvals().countPending({ approverId: bob.approverId })).toBe(0);
    });
  });

  describe('persistence', () => {
    it('keeps a held request, its decisions and its sealed state across closing and reopening the store', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob] = [await enrollApprover('alice'), await enrollApprover('bob')];
      const { view, state, deviceMessages } = await hold(wallet, [quorum('two', 2, [alice, bob])]);
      await decide(view, alice, 'approve');
      const before = await getRequest(view.requestId);
      await store.close();
      store = await open();
      expect(await getRequest(view.requestId)).toEqual(before);
      expect((await decide(view, bob, 'approve')).request.state).toBe('approved');
      await store.close();
      store = await open();
      const taken = await store.takeApprovedRequest(view.requestId, {});
      expect(taken.presignature).toBe(state);
      expect(taken.deviceMessages).toEqual(deviceMessages);
    });
  });

  describe('removed approvers and revoked devices', () => {
    it("a removed approver's earlier approval stops counting, and its later decisions are refused", async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob, carol] = [await enrollApprover('alice'), await enrollApprover('bob'), await enrollApprover('carol')];
      const { view } = await hold(wallet, [quorum('two', 2, [alice, bob, carol])]);
      expect((await decide(view, alice, 'approve')).request.state).toBe('pending-approval');
      await approvals().removeApprover(alice.approverId, 'test');
      // With alice's vote gone, bob's approval alone is one of two.
      expect((await decide(view, bob, 'approve')).request.state).toBe('pending-approval');
      expect((await decide(view, carol, 'approve')).request.state).toBe('approved');
      const other = (await hold(wallet, [quorum('two', 2, [alice, bob, carol])])).view;
      expect(await refusal(async () => await decide(other, alice, 'approve'))).toBe('NOT_AN_APPROVER');
    });

    it('removing an approver rejects the pending requests whose quorum it makes unreachable, and only those', async () => {
      const wallet = await enrollActiveWallet(store);
      const [alice, bob, carol] = [await enrollApprover('alice'), await enrollApprover('bob'), await enrollApprover('carol')];
      const unreachable = (await hold(wallet, [quorum('both', 2, [alice, bob])])).view;
      const stillPossible = (await hold(wallet, [quorum('any', 1, [alice, carol])])).view;
      await approvals().removeApprover(alice.approverId, 'test');
      expect(await getRequest(unreachable.requestId)).toMatchObject({ state: 'rejected' });
      expect((await getRequest(unreachable.requestId))!.result?.error).toContain('alice was removed');
      expect((await rawRequestRow(unreachable.requestId)).sealed).toBeNull();
      expect((await getRequest(stillPossible.requestId))!.state).toBe('pending-approval');
    });

    it("revoking a device fails its held requests, pending or approved, so they are never signed", async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const pending = (await hold(wallet, [quorum('solo', 1, [alice])])).view;
      const approved = (await hold(wallet, [quorum('solo', 1, [alice])])).view;
      expect((await decide(approved, alice, 'approve')).request.state).toBe('approved');
      await store.revokeDevice(wallet.deviceId, 'stolen');
      for (const request of [pending, approved]) {
        expect((await getRequest(request.requestId))!.state).toBe('failed');
        expect((await rawRequestRow(request.requestId)).sealed).toBeNull();
      }
      expect(await refusal(async () => await store.takeApprovedRequest(approved.requestId, {}))).toBe('NOT_PENDING');
    });

    it('counts held transactions toward the daily limit, per chain, until they leave the held states', async () => {
      const wallet = await enrollActiveWallet(store);
      const alice = await enrollApprover('alice');
      const first = (await hold(wallet, [quorum('solo', 1, [alice])])).view;
      await hold(wallet, [quorum('solo', 1, [alice])]);
      expect(await store.heldValue(wallet.walletId, 1)).toBe(2n * transaction.value!);
      expect(await store.heldValue(wallet.walletId, 1, first.requestId)).toBe(transaction.value);
      expect(await store.heldValue(wallet.walletId, 8453)).toBe(0n);
      await decide(first, alice, 'reject');
      expect(await store.heldValue(wallet.walletId, 1)).toBe(transaction.value);
    });
  });
});
