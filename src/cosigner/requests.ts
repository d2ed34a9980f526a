/**
 * The co-signer's side of a conversation: keygen, presign and sign requests from a wallet's
 * device, each run through src/mpc as party 2, checked against the wallet's policy and stored.
 */
import type { Hex } from 'viem';
import type { Conversation } from '../channel/conversation.js';
import { BACKUP_PARTY, COSIGNER_PARTY, DEVICE_PARTY, payloadFromWire, restoreProofContext, ProtocolBodyError, type DeviceRequest, type RefusalCode, type WirePayload } from '../channel/cosigner-protocol.js';
import { CosignerRefusedError, ProtocolConversation, type RelayParty } from '../channel/protocol-conversation.js';
import { ChannelError } from '../channel/errors.js';
import { bytesToHex, hexToBytes } from '../mpc/bytes.js';
import { DkgParty, keyPublicInfo } from '../mpc/dkg.js';
import { payloadDigest, type SignablePayload } from '../mpc/ethereum.js';
import { MpcError, ProtocolAbortError } from '../mpc/errors.js';
import { exportKeyShare, importKeyShare, keyShareAddress, publicSharesDigest, type KeyShare } from '../mpc/keyshare.js';
import type { ProtocolMessage } from '../mpc/message.js';
import { verifySharePossession } from '../mpc/share-proof.js';
import { SignParty } from '../mpc/sign.js';
import type { AuditSummaryInput } from './audit/types.js';
import { ApprovalUnmeetableError, holdForApproval, newRequestId, requestFields, type ApprovalDesk } from './approvals/hold.js';
import { matchingApprovalRules } from './approvals/quorum.js';
import { describePayload, signatureResult, signingRecord, toPolicyRequest } from './payload-summary.js';
import { oneAtATime, spentToday } from './wallet-queue.js';
import type { RequestResult } from '../channel/approval-protocol.js';
import { evaluatePolicy, PolicyRequestError } from './policy/policy.js';
import type { ApprovalRule, PolicyRequest, WalletPolicy } from './policy/types.js';
import { PresignatureUnavailableError, SpendLimitError, WalletLockedError, WalletStateError } from './store/errors.js';
import type { CosignerLog } from './ops/log.js';
import type { RequestMetrics } from './ops/metrics.js';
import type { CosignerStore, DeviceRecord, WalletRecord } from './store/types.js';

export interface RequestContext {
  store: CosignerStore;
  /** Ready presignatures a wallet may hold here; more are refused. */
  maxPresignatures: number;
  now: () => number;
  /** Operational log: never given secrets. Fields (walletId, code...) are for JSON logs. */
  log: CosignerLog;
  /** How long after its enrollment a restoring device may run its restore. */
  restoreDelayMs: number;
  /** Tells approvers of held requests; without it, requests that need approval are refused. */
  desk?: ApprovalDesk;
  /** Counters and latencies for /metrics: a few Map updates per request. */
  metrics?: RequestMetrics;
  /** Admission of requests: enter() is false while the co-signer drains (the request is refused); each admitted request leaves once. */
  gate?: RequestGate;
}

export interface RequestGate {
  enter(): boolean;
  leave(): void;
}

/** What a device hears when it asks while the co-signer drains before stopping. */
export const DRAINING_REASON = 'The co-signer is shutting down (draining) and takes no new requests; try again in a moment (another instance, or this one after its restart, will answer).';

const ID_PATTERN = /^[0-9a-f]{32}$/;
const SESSION_PATTERN = /^0x[0-9a-f]{64}$/;

/** A request the co-signer will not serve: answered with a typed refusal, the conversation goes on. */
export class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    readonly reason: string,
    readonly rule?: string,
  ) {
    super(reason);
  }
}

export async function serveConversation(context: RequestContext, conversation: Conversation): Promise<void> {
  const link = new ProtocolConversation(conversation);
  // A device keeps its conversation for many requests: wait for the next one until the conversation expires.
  link.deadline = conversation.expiresAt;
  const { walletId } = conversation;
  try {
    for (;;) {
      const { header, messages } = await link.receive<DeviceRequest>(['keygen', 'presign', 'sign', 'sign-now', 'refresh', 'restore', 'new-backup', 'reshare-commit', 'mpc', 'bye']);
      if (header.type === 'bye') return;
      if (context.gate && !context.gate.enter()) {
        // Checked before anything is read or spent: a drained request changed nothing.
        context.metrics?.refused('UNAVAILABLE');
        context.log(`wallet ${walletId}: refused ${header.type}: draining`, { walletId, request: header.type, code: 'UNAVAILABLE', reason: 'draining' });
        await link.refuse('UNAVAILABLE', DRAINING_REASON);
        continue;
      }
      const started = performance.now();
      try {
        const wallet = await context.store.getWallet(walletId);
        if (!wallet) throw new Refusal('UNKNOWN_WALLET', 'This wallet is not known to the co-signer.');
        // Read per request: a revocation (by the operator, or by a restore elsewhere) applies to the very next one.
        const device = await context.store.getDeviceByIdentityKey(bytesToHex(conversation.peerIdentity));
        if (!device || device.walletId !== walletId || device.status === 'revoked') {
          throw new Refusal('DEVICE_REVOKED', `This device was revoked${device?.revokedReason ? ` (${device.revokedReason})` : ''}; it can no longer sign for this wallet. Restore the wallet from its recovery kit.`);
        }
        if (device.status === 'restoring' && header.type !== 'restore' && header.type !== 'reshare-commit') {
          throw new Refusal('NOT_RESTORED', 'This device is enrolled to restore the wallet and may do nothing else until the restore is complete.');
        }
        if (header.type === 'restore') await restore(context, link, wallet, device, header, messages);
        else if (header.type === 'reshare-commit') await reshareCommit(context, link, wallet, device, header);
        else if (header.type === 'new-backup') await newBackup(context, link, wallet, device, header, messages);
        else if (header.type === 'keygen') await keygen(context, link, wallet, header, messages);
        else if (header.type === 'presign') await presign(context, link, wallet, header, messages);
        // One signature per wallet at a time: the daily limit is read, then spent, with nothing in between.
        else if (header.type === 'sign') await oneAtATime(walletId, () => sign(context, link, wallet, device, header, messages));
        else if (header.type === 'sign-now') await oneAtATime(walletId, () => signNow(context, link, wallet, device, header, messages));
        else if (header.type === 'refresh') await refresh(context, link, wallet, device, header, messages);
        else throw new Refusal('BAD_REQUEST', 'Protocol messages arrived with no request in progress.');
      } catch (error) {
        if (error instanceof Refusal) {
          refused(context, walletId, header.type, error.code, error.rule);
          await link.refuse(error.code, error.reason, error.rule);
          continue;
        }
        if (error instanceof ProtocolBodyError || error instanceof PolicyRequestError) {
          refused(context, walletId, header.type, 'BAD_REQUEST');
          await link.refuse('BAD_REQUEST', error.message);
          continue;
        }
        // Whatever else ended the request, the device hears it now rather than at its deadline.
        if (error instanceof ProtocolAbortError) {
          const wallet = await context.store.getWallet(walletId);
          const code = wallet?.status === 'locked' ? 'WALLET_LOCKED' : 'PROTOCOL_ABORT';
          refused(context, walletId, header.type, code);
          await link.refuse(code, wallet?.status === 'locked' ? lockedReason(wallet) : error.shortMessage).catch(() => undefined);
        } else if (!(error instanceof CosignerRefusedError) && !(error instanceof ChannelError)) {
          context.log(`wallet ${walletId}: request failed: ${(error as Error).message.split('\n')[0]}`, { level: 'error', walletId, request: header.type });
          refused(context, walletId, header.type, 'INTERNAL');
          await link.refuse('INTERNAL', 'The co-signer failed while serving this request; try again later.').catch(() => undefined);
        }
        throw error;
      } finally {
        context.metrics?.requestDone(header.type, (performance.now() - started) / 1000);
        context.gate?.leave();
      }
    }
  } catch (error) {
    if (error instanceof ProtocolAbortError) {
      context.log(`wallet ${walletId}: ${error.shortMessage}`, { level: 'warn', walletId, code: 'PROTOCOL_ABORT' });
    } else if (!(error instanceof CosignerRefusedError) && !(error instanceof ChannelError)) {
      context.log(`wallet ${walletId}: conversation ended: ${(error as Error).message.split('\n')[0]}`, { level: 'warn', walletId });
    }
  } finally {
    conversation.close();
  }
}

async function keygen(
  context: RequestContext,
  link: ProtocolConversation,
  wallet: WalletRecord,
  request: Extract<DeviceRequest, { type: 'keygen' }>,
  messages: ProtocolMessage[],
): Promise<void> {
  if (wallet.status !== 'pending') throw new Refusal('BAD_REQUEST', 'This wallet already has its key.');
  if (!SESSION_PATTERN.test(request.session)) throw new Refusal('BAD_REQUEST', 'The keygen session must be 32 bytes of hex.');
  const parties = [...wallet.parties];
  if (request.parties.length !== parties.length || request.parties.some((id, i) => id !== parties[i])) {
    throw new Refusal('BAD_REQUEST', `This wallet was enrolled with parties ${parties.join(',')}.`);
  }
  const party = DkgParty.create({ session: hexToBytes(request.session.slice(2)), partyId: COSIGNER_PARTY, parties });
  const share = await guarded(context, wallet, 'dkg', () => relayParty(link, party, messages, (result) => result !== undefined));
  const publicKey = `0x${bytesToHex(share.publicKey)}` as Hex;
  const address = keyShareAddress(share);
  await context.store.activateWallet({ walletId: wallet.walletId, address, publicKey, share: exportKeyShare(share), generation: share.generation });
  context.log(`wallet ${wallet.walletId}: key generated, address ${address}`, { walletId: wallet.walletId, address });
  await link.send({ type: 'keygen-done', address, publicKey, generation: share.generation });
}

/** Checklist item 6: the payload is parsed and hashed here; nothing the device computed is trusted. Then the policy. */
async function checkSignRequest(
  context: RequestContext,
  wallet: WalletRecord,
  device: DeviceRecord,
  request: { payload: WirePayload },
  policy: WalletPolicy,
): Promise<CheckedSignRequest> {
  const payload = payloadFromWire(request.payload);
  let digest: Uint8Array;
  try {
    digest = payloadDigest(payload);
  } catch (error) {
    throw new Refusal('BAD_REQUEST', (error as MpcError).shortMessage ?? 'The payload cannot be hashed.');
  }
  assertDomainDeclared(payload);
  const summary = describePayload(payload, digest);
  const policyRequest = toPolicyRequest(payload);
  const spentTodayWei = await spentToday(context.store, wallet.walletId, policyRequest, context.now(), { digest: `0x${bytesToHex(digest)}` });
  const decision = evaluatePolicy(policy, policyRequest, { spentTodayWei });
  if (!decision.allowed) {
    await audit(context, 'refuse', wallet, { ...summary, rule: decision.rule, reason: decision.reason });
    await recordSettled(context, wallet, device, request.payload, digest, 'failed', { error: `Refused by the policy (rule ${decision.rule}): ${decision.reason}` });
    throw new Refusal('POLICY', decision.reason, decision.rule);
  }

  return { payload, digest, summary, policyRequest, policy, approvalRules: matchingApprovalRules(policy, policyRequest) };
}

interface CheckedSignRequest {
  payload: SignablePayload;
  /** The wallet's policy as it was checked: the store checks its daily limit again when it records the spend. */
  policy: WalletPolicy;
  digest: Uint8Array;
  summary: AuditSummaryInput;
  policyRequest: PolicyRequest;
  /** The policy's approval rules this request falls under: when any, it is held for approvers. */
  approvalRules: ApprovalRule[];
}

/**
 * The daily limit, found passed when the spend was to be recorded: another co-signer process sharing the
 * database recorded a spend after this one's policy check. Refused and recorded like any policy refusal.
 */
async function refusedBySpendLimit(context: RequestContext, wallet: WalletRecord, device: DeviceRecord, wire: Extract<DeviceRequest, { type: 'sign' | 'sign-now' }>['payload'], checked: CheckedSignRequest, error: SpendLimitError): Promise<Refusal> {
  await audit(context, 'refuse', wallet, { ...checked.summary, rule: 'daily-limit', reason: error.shortMessage });
  await recordSettled(context, wallet, device, wire, checked.digest, 'failed', { error: `Refused by the policy (rule daily-limit): ${error.shortMessage}` });
  return new Refusal('POLICY', error.shortMessage, 'daily-limit');
}

/**
 * Re-shares the key (all parties) with new OT material. Two-phase, as a restore: the new share is
 * kept aside until the device confirms it saved its own (reshare-commit), so a device cut off
 * anywhere in between still holds shares that match the co-signer's. The commit drops old
 * presignatures and unlocks.
 */
async function refresh(
  context: RequestContext,
  link: ProtocolConversation,
  wallet: WalletRecord,
  device: DeviceRecord,
  request: Extract<DeviceRequest, { type: 'refresh' }>,
  messages: ProtocolMessage[],
): Promise<void> {
  if (!SESSION_PATTERN.test(request.session)) throw new Refusal('BAD_REQUEST', 'The refresh session must be 32 bytes of hex.');
  if (wallet.status === 'pending') throw new Refusal('BAD_REQUEST', 'This wallet has no key yet.');
  const share = importKeyShare(await context.store.loadShare(wallet.walletId, 'refresh'));
  const party = DkgParty.refresh({ session: hexToBytes(request.session.slice(2)), share });
  const refreshed = await guarded(context, wallet, 'refresh', () => relayParty(link, party, messages, (result) => result !== undefined));
  await context.store.putPendingShare({ walletId: wallet.walletId, deviceId: device.deviceId, share: exportKeyShare(refreshed), sharesDigest: publicSharesDigest(refreshed), generation: refreshed.generation, kind: 'refresh' });
  context.log(`wallet ${wallet.walletId}: refresh to generation ${refreshed.generation} ready, waiting for the device's confirmation`, { walletId: wallet.walletId });
  await link.send({ type: 'reshare-ready', address: keyShareAddress(refreshed), generation: refreshed.generation, sharesDigest: publicSharesDigest(refreshed) });
}

/**
 * Restore, first half: the co-signer and the backup (run by the new device from the kit) deal
 * the key to all three parties. The backup proves it holds its share inside the protocol (its
 * dealt constant must be λ3·X3 with a proof of knowledge), so a wrong kit aborts. The new share
 * is kept aside: the old ones stay in force until the device confirms with reshare-commit.
 */
async function restore(
  context: RequestContext,
  link: ProtocolConversation,
  wallet: WalletRecord,
  device: DeviceRecord,
  request: Extract<DeviceRequest, { type: 'restore' }>,
  messages: ProtocolMessage[],
): Promise<void> {
  if (!SESSION_PATTERN.test(request.session)) throw new Refusal('BAD_REQUEST', 'The restore session must be 32 bytes of hex.');
  if (device.status !== 'restoring') throw new Refusal('BAD_REQUEST', 'This device already holds a share of the wallet; only a device enrolled from the recovery kit restores.');
  if (wallet.parties.length !== 3) throw new Refusal('BAD_REQUEST', 'A 2-of-2 wallet has no backup share to restore from.');
  // The wallet's policy may set its own delay, and may hold the restore for an operator's approval too.
  const policy = await context.store.getPolicy(wallet.walletId);
  const delayMs = policy.restoreDelayMinutes === undefined ? context.restoreDelayMs : policy.restoreDelayMinutes * 60_000;
  const readyAt = device.createdAt + delayMs;
  if (context.now() < readyAt) {
    const seconds = Math.ceil((readyAt - context.now()) / 1000);
    throw new Refusal('RESTORE_DELAYED', `For your safety the co-signer runs a restore ${Math.round(delayMs / 1000)} s after it was requested: ${seconds} s to go.`, String(readyAt));
  }
  if (policy.restoreNeedsOperator && device.restoreApprovedAt === undefined) {
    throw new Refusal(
      'RESTORE_NEEDS_APPROVAL',
      `This wallet's policy needs the co-signer's operator to approve this restore (device ${device.deviceId}); ask them to run: npm run cosigner -- devices approve-restore ${device.deviceId}. Nothing has changed.`,
      'restore-needs-operator',
    );
  }
  const share = importKeyShare(await context.store.loadShare(wallet.walletId, 'refresh'));
  if (request.generation !== share.generation) {
    const reason =
      request.generation > share.generation
        ? 'This recovery kit is from a refresh or restore that was never completed: use the kit from before it (the headless client keeps it as <file>.previous until the commit).'
        : 'This recovery kit is from before a later refresh or restore of the wallet: use the kit issued with the latest one.';
    throw new Refusal('STALE_SHARE', reason, String(share.generation));
  }
  // Before anything is dealt: round 2 carries evaluations of the co-signer's polynomial to both the
  // new device and the backup, which the restoring device runs side by side, so together they give
  // away the co-signer's share. Only a holder of the backup share may see them.
  const proofContext = restoreProofContext({ session: request.session, walletId: wallet.walletId, deviceId: device.deviceId, generation: share.generation });
  if (!verifySharePossession(keyPublicInfo(share), BACKUP_PARTY, hexOrEmpty(request.backupProof), proofContext)) {
    const reason = 'the restore did not prove the backup share';
    await audit(context, 'refuse', wallet, { protocol: 'restore', deviceId: device.deviceId, reason });
    await link.refuse(
      'BACKUP_PROOF_INVALID',
      'This recovery kit does not hold the backup share of this wallet (its proof does not verify). Nothing was dealt, and this restore is cancelled: start again with the kit saved for this wallet.',
    );
    // Revoked after the answer left: revocation closes the device's connection at once.
    await context.store.revokeDevice(device.deviceId, reason, { actor: 'restore' });
    context.log(`wallet ${wallet.walletId}: restoring device ${device.deviceId} revoked: ${reason}`, { walletId: wallet.walletId, deviceId: device.deviceId });
    link.conversation.close();
    return;
  }
  const party = DkgParty.reshare({ session: hexToBytes(request.session.slice(2)), partyId: COSIGNER_PARTY, parties: [...share.parties], dealers: [COSIGNER_PARTY, BACKUP_PARTY], key: keyPublicInfo(share), share });
  const restored = await guarded(context, wallet, 'reshare', () => relayParty(link, party, messages, (result) => result !== undefined));
  await context.store.putPendingShare({ walletId: wallet.walletId, deviceId: device.deviceId, share: exportKeyShare(restored), sharesDigest: publicSharesDigest(restored), generation: restored.generation });
  context.log(`wallet ${wallet.walletId}: restore to device ${device.deviceId} ready, generation ${restored.generation}, waiting for its confirmation`, { walletId: wallet.walletId, deviceId: device.deviceId });
  await link.send({ type: 'reshare-ready', address: keyShareAddress(restored), generation: restored.generation, sharesDigest: publicSharesDigest(restored) });
}

/**
 * A new backup, first half: the device and the co-signer deal the key to the device, the co-signer
 * and a new backup party (which the device runs and hands out as a new kit). Both dealers prove
 * their shares inside the protocol. A 2-of-2 wallet comes out 2-of-3. The new share is kept aside
 * until reshare-commit, so the old shares and the old kit stay in force until the device has its own.
 */
async function newBackup(
  context: RequestContext,
  link: ProtocolConversation,
  wallet: WalletRecord,
  device: DeviceRecord,
  request: Extract<DeviceRequest, { type: 'new-backup' }>,
  messages: ProtocolMessage[],
): Promise<void> {
  if (!SESSION_PATTERN.test(request.session)) throw new Refusal('BAD_REQUEST', 'The new-backup session must be 32 bytes of hex.');
  if (device.status !== 'active') throw new Refusal('BAD_REQUEST', 'Only the device that holds the wallet makes a new backup.');
  if (wallet.status === 'pending') throw new Refusal('BAD_REQUEST', 'This wallet has no key yet.');
  // A locked wallet may: like a refresh, this replaces every share and all OT material.
  const share = importKeyShare(await context.store.loadShare(wallet.walletId, 'refresh'));
  if (request.generation !== share.generation) {
    throw new Refusal('STALE_SHARE', `The co-signer holds generation ${share.generation} of this key and the device ${request.generation}.`, String(share.generation));
  }
  const parties = [DEVICE_PARTY, COSIGNER_PARTY, BACKUP_PARTY];
  const party = DkgParty.reshare({ session: hexToBytes(request.session.slice(2)), partyId: COSIGNER_PARTY, parties, dealers: [DEVICE_PARTY, COSIGNER_PARTY], key: keyPublicInfo(share), share });
  const reshared = await guarded(context, wallet, 'reshare', () => relayParty(link, party, messages, (result) => result !== undefined));
  await context.store.putPendingShare({ walletId: wallet.walletId, deviceId: device.deviceId, share: exportKeyShare(reshared), sharesDigest: publicSharesDigest(reshared), generation: reshared.generation, kind: 'new-backup', parties: [1, 2, 3] });
  context.log(`wallet ${wallet.walletId}: new backup for device ${device.deviceId} ready, generation ${reshared.generation}, waiting for its confirmation`, { walletId: wallet.walletId, deviceId: device.deviceId });
  await link.send({ type: 'reshare-ready', address: keyShareAddress(reshared), generation: reshared.generation, sharesDigest: publicSharesDigest(reshared) });
}

/** Restore or new backup, second half: the device has stored its share and the new kit. Idempotent, so a lost answer can be asked again. */
async function reshareCommit(
  context: RequestContext,
  link: ProtocolConversation,
  wallet: WalletRecord,
  device: DeviceRecord,
  request: Extract<DeviceRequest, { type: 'reshare-commit' }>,
): Promise<void> {
  if (!Number.isInteger(request.generation) || request.generation < 1) throw new Refusal('BAD_REQUEST', 'reshare-commit needs the generation the re-sharing produced.');
  let committed: WalletRecord;
  let revoked: string[];
  let kind: string;
  try {
    const sharesDigest = typeof request.sharesDigest === 'string' ? request.sharesDigest : '';
    ({ wallet: committed, revoked, kind } = await context.store.commitPendingShare({ walletId: wallet.walletId, deviceId: device.deviceId, generation: request.generation, sharesDigest }));
  } catch (error) {
    if (error instanceof WalletStateError) throw new Refusal('BAD_REQUEST', error.shortMessage);
    throw error;
  }
  context.log(`wallet ${wallet.walletId}: ${kind} committed at generation ${committed.generation} by device ${device.deviceId}${revoked.length ? `; revoked ${revoked.join(', ')}` : ''}`, { walletId: wallet.walletId, deviceId: device.deviceId });
  await link.send({ type: 'reshare-done', address: committed.address!, generation: committed.generation! });
}

async function presign(
  context: RequestContext,
  link: ProtocolConversation,
  wallet: WalletRecord,
  request: Extract<DeviceRequest, { type: 'presign' }>,
  messages: ProtocolMessage[],
): Promise<void> {
  if (!ID_PATTERN.test(request.presignatureId)) throw new Refusal('BAD_REQUEST', 'A presignature id is 32 hex characters.');
  if (!SESSION_PATTERN.test(request.session)) throw new Refusal('BAD_REQUEST', 'The presign session must be 32 bytes of hex.');
  assertCanSign(wallet);
  const share = await loadSigningShare(context, wallet, request.generation, await context.store.getPolicy(wallet.walletId));
  if ((await context.store.countReadyPresignatures(wallet.walletId)) >= context.maxPresignatures) {
    throw new Refusal('BAD_REQUEST', `This wallet already holds ${context.maxPresignatures} unused presignatures here.`);
  }
  const party = SignParty.create({ share, session: hexToBytes(request.session.slice(2)), signers: [1, COSIGNER_PARTY] });
  await guarded(context, wallet, 'presign', () => relayParty(link, party, messages, (result) => result !== undefined));
  try {
    await context.store.putPresignature({ walletId: wallet.walletId, presignatureId: request.presignatureId, state: party.exportState(), generation: share.generation });
  } catch (error) {
    // A refresh, restore or new backup committed while this presign ran: its shares are gone.
    if (error instanceof WalletStateError) throw new Refusal('STALE_SHARE', 'The key shares were replaced while this presignature was made; presign again.', String(share.generation + 1));
    throw error;
  }
  await link.send({ type: 'presigned', presignatureId: request.presignatureId });
}

async function sign(
  context: RequestContext,
  link: ProtocolConversation,
  wallet: WalletRecord,
  device: DeviceRecord,
  request: Extract<DeviceRequest, { type: 'sign' }>,
  messages: ProtocolMessage[],
): Promise<void> {
  if (!ID_PATTERN.test(request.presignatureId)) throw new Refusal('BAD_REQUEST', 'A presignature id is 32 hex characters.');
  assertCanSign(wallet);
  // The device let go of its half before asking: whatever is refused here, burn ours too, so
  // refusals can neither fill the pool nor leave a presignature the device no longer has.
  // A store may throw synchronously (SQLite) for a presignature it never had: that must not replace the refusal.
  const burn = () => Promise.resolve().then(() => context.store.consumePresignature(wallet.walletId, request.presignatureId)).catch(() => undefined);
  let checked: CheckedSignRequest;
  try {
    // Read once for both checks: every read is a round trip to a shared database.
    const policy = await context.store.getPolicy(wallet.walletId);
    await assertRefreshedRecently(context, wallet, policy);
    checked = await checkSignRequest(context, wallet, device, request, policy);
  } catch (error) {
    await burn();
    throw error;
  }
  const { payload, summary, policyRequest } = checked;
  if (checked.approvalRules.length > 0) {
    // The device's message is checked now, as for an immediate signature: a bad one locks the wallet
    // at once instead of after the approvers acted. The signature this computes is thrown away; the
    // same presignature over the same digest gives the same one again when approved.
    const verify = (state: string) => {
      const party = SignParty.fromState(state);
      let result = party.signPayload(payload).result;
      for (const message of messages) result = party.receive(message).result ?? result;
      if (!result || result.kind !== 'signature') throw new Refusal('BAD_REQUEST', "The device's online message for this presignature is missing.");
    };
    const held = await guarded(context, wallet, 'sign', () =>
      holdForApproval(context, { wallet, deviceId: device.deviceId, presignatureId: request.presignatureId, wire: request.payload, digest: checked.digest, rules: checked.approvalRules, deviceMessages: messages, verify }),
    ).catch(async (error: unknown) => {
      if (error instanceof PresignatureUnavailableError) throw new Refusal('UNKNOWN_PRESIGNATURE', `${error.shortMessage} Presign again.`);
      if (error instanceof WalletLockedError) throw new Refusal('WALLET_LOCKED', lockedReason(wallet));
      await burn();
      if (error instanceof ApprovalUnmeetableError) throw new Refusal('POLICY', error.shortMessage, error.rule);
      throw error;
    });
    throw new Refusal('APPROVAL_PENDING', held.reason, held.requestId);
  }

  // One durable transaction marks the presignature used and records the signing (audit row and
  // spend) before the co-signer's share exists. A signature that then fails to verify locks the wallet.
  let state: string;
  try {
    state = await context.store.consumePresignature(wallet.walletId, request.presignatureId, signingRecord({ ...summary, presignatureId: request.presignatureId }, policyRequest, checked.digest, { policy: checked.policy, now: context.now() }));
  } catch (error) {
    if (error instanceof SpendLimitError) {
      await burn();
      throw await refusedBySpendLimit(context, wallet, device, request.payload, checked, error);
    }
    if (error instanceof WalletLockedError) throw new Refusal('WALLET_LOCKED', lockedReason(wallet));
    if (error instanceof PresignatureUnavailableError) throw new Refusal('UNKNOWN_PRESIGNATURE', `${error.shortMessage} Presign again.`);
    throw error;
  }
  const party = SignParty.fromState(state);
  const signature = await guarded(context, wallet, 'sign', async () => {
    const own = party.signPayload(payload);
    let result = own.result;
    for (const message of messages) result = party.receive(message).result ?? result;
    if (!result || result.kind !== 'signature') throw new Refusal('BAD_REQUEST', "The device's online message for this presignature is missing.");
    return { result: result.signature, outgoing: own.outgoing };
  });
  await link.send({ type: 'signed', presignatureId: request.presignatureId }, signature.outgoing);
  context.metrics?.signed('pooled');
  await recordSettled(context, wallet, device, request.payload, checked.digest, 'signed', signatureResult(payload, signature.result), request.presignatureId);
}

/**
 * Presign and sign in one request. The payload and policy are checked before any MPC work; the
 * presignature lives only in this call and is used once. The signing is recorded (audit and
 * spend, durably) before the co-signer's online message leaves, as with a pooled presignature.
 */
async function signNow(
  context: RequestContext,
  link: ProtocolConversation,
  wallet: WalletRecord,
  device: DeviceRecord,
  request: Extract<DeviceRequest, { type: 'sign-now' }>,
  messages: ProtocolMessage[],
): Promise<void> {
  if (!SESSION_PATTERN.test(request.session)) throw new Refusal('BAD_REQUEST', 'The signing session must be 32 bytes of hex.');
  assertCanSign(wallet);
  const policy = await context.store.getPolicy(wallet.walletId);
  const share = await loadSigningShare(context, wallet, request.generation, policy);
  const checked = await checkSignRequest(context, wallet, device, request, policy);
  const { payload, digest, summary, policyRequest, approvalRules } = checked;
  // A held request is finished later from a stored presignature, which this path never makes.
  if (approvalRules.length > 0) {
    throw new Refusal('APPROVAL_NEEDS_PRESIGNATURE', `This request needs approval (rule ${approvalRules.map((rule) => rule.id).join(', ')}); send it with a presignature so it can wait for the approvers.`, approvalRules[0]!.id);
  }
  const party = SignParty.create({ share, session: hexToBytes(request.session.slice(2)), signers: [1, COSIGNER_PARTY] });
  const signature = await guarded(context, wallet, 'sign', async () => {
    await relayParty(link, party, messages, (result) => result?.kind === 'presigned');
    // The device's online message came with its last presign round and waits in the party.
    const own = party.signPayload(payload);
    if (!own.result || own.result.kind !== 'signature') throw new Refusal('BAD_REQUEST', "The device's online message is missing.");
    return { outgoing: own.outgoing, result: own.result.signature };
  });
  try {
    await context.store.recordSignature(wallet.walletId, signingRecord(summary, policyRequest, digest, { policy: checked.policy, now: context.now() }));
  } catch (error) {
    if (error instanceof SpendLimitError) throw await refusedBySpendLimit(context, wallet, device, request.payload, checked, error);
    throw error;
  }
  await link.send({ type: 'signed' }, signature.outgoing);
  context.metrics?.signed('full');
  await recordSettled(context, wallet, device, request.payload, digest, 'signed', signatureResult(payload, signature.result));
}

/**
 * Every request gets a record, so the device and the operator can ask about it like a held one.
 * Written after the answer left: a failure here costs the record, never the signature.
 */
async function recordSettled(context: RequestContext, wallet: WalletRecord, device: DeviceRecord, wire: WirePayload, digest: Uint8Array, state: 'signed' | 'failed', result: RequestResult, presignatureId?: string): Promise<void> {
  try {
    await context.store.approvals.recordSettled({
      requestId: newRequestId(),
      walletId: wallet.walletId,
      deviceId: device.deviceId,
      ...requestFields(wire, digest),
      state,
      result,
      generation: wallet.generation ?? 0,
      ...(presignatureId ? { presignatureId } : {}),
    });
  } catch (error) {
    context.log(`wallet ${wallet.walletId}: the request record was not written: ${(error as Error).message.split('\n')[0]}`, { walletId: wallet.walletId });
  }
}

/** Runs the co-signer's party against the device's parties until its result satisfies `done`. */
async function relayParty<Result>(
  link: ProtocolConversation,
  party: RelayParty<Result> & { start(): ProtocolMessage[] },
  messages: ProtocolMessage[],
  done: (result: Result | undefined) => boolean,
): Promise<Result> {
  const results = await link.relay<Result>({
    parties: [party],
    initial: party.start(),
    incoming: messages,
    done: (all) => done(all.get(COSIGNER_PARTY)),
    header: { type: 'mpc' },
    allowed: ['mpc'],
  });
  return results.get(COSIGNER_PARTY)!;
}

/**
 * An abort is audited. Checklist item 4: a failed check while presigning or signing also locks
 * the wallet (the lock writes its own audit row) until it is refreshed.
 */
async function guarded<T>(context: RequestContext, wallet: WalletRecord, protocol: 'dkg' | 'refresh' | 'reshare' | 'presign' | 'sign', work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const deviceAborted = error instanceof CosignerRefusedError && error.code === 'PROTOCOL_ABORT';
    if (!(error instanceof ProtocolAbortError) && !deviceAborted) throw error;
    context.metrics?.aborted(protocol);
    if (protocol === 'dkg' || protocol === 'refresh' || protocol === 'reshare') {
      await audit(context, 'abort', wallet, error instanceof ProtocolAbortError ? { protocol, round: error.round, reason: error.reason } : { protocol, reason: 'aborted by the device' });
    } else {
      const reason = error instanceof ProtocolAbortError ? `${protocol} aborted in round ${error.round}: ${error.reason}` : `the device aborted ${protocol}`;
      await context.store.lockWallet(wallet.walletId, reason);
      context.log(`wallet ${wallet.walletId}: locked: ${reason}`, { level: 'warn', walletId: wallet.walletId, code: 'WALLET_LOCKED', protocol });
    }
    throw error;
  }
}

/** Bytes of a 0x-hex field a device sent; anything else (not a string, odd length, not hex) is no bytes, which no proof accepts. */
function hexOrEmpty(value: unknown): Uint8Array {
  if (typeof value !== 'string' || !/^0x(?:[0-9a-f]{2}){1,256}$/i.test(value)) return new Uint8Array(0);
  return hexToBytes(value.slice(2));
}

function assertCanSign(wallet: WalletRecord): void {
  if (wallet.status === 'locked') throw new Refusal('WALLET_LOCKED', lockedReason(wallet));
  if (wallet.status !== 'active') throw new Refusal('BAD_REQUEST', 'This wallet has no key yet.');
}

/** The signing share, which must be of the generation the device holds (a refresh may have finished on one side only). */
async function loadSigningShare(context: RequestContext, wallet: WalletRecord, deviceGeneration: number, policy: WalletPolicy): Promise<KeyShare> {
  const share = importKeyShare(await context.store.loadShare(wallet.walletId, 'sign'));
  if (deviceGeneration !== share.generation) {
    throw new Refusal('STALE_SHARE', `The co-signer holds generation ${share.generation} of this key and the device ${deviceGeneration}.`, String(share.generation));
  }
  await assertRefreshedRecently(context, wallet, policy);
  return share;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The policy's refreshEveryDays: shares older than that (since keygen, refresh or restore) presign
 * and sign nothing until refreshed. Refresh and restore are never refused here: they are the way out.
 */
async function assertRefreshedRecently(context: RequestContext, wallet: WalletRecord, { refreshEveryDays }: WalletPolicy): Promise<void> {
  if (refreshEveryDays === undefined || wallet.shareUpdatedAt === undefined) return;
  const ageMs = context.now() - wallet.shareUpdatedAt;
  if (ageMs <= refreshEveryDays * DAY_MS) return;
  const days = (count: number) => `${count} day${count === 1 ? '' : 's'}`;
  const ageDays = Math.floor(ageMs / DAY_MS);
  const ago = ageDays > refreshEveryDays ? `${days(ageDays)} ago` : `more than ${days(refreshEveryDays)} ago`;
  const reason =
    `This wallet's policy requires its key shares to be refreshed every ${days(refreshEveryDays)}; they were ${wallet.generation === 0 ? 'created' : 'last refreshed'} ${ago}. ` +
    'Refresh them (popup: Refresh key shares; CLI: npm run client -- refresh) and sign again.';
  await audit(context, 'refuse', wallet, { rule: 'refresh-every', reason, refreshEveryDays, generation: wallet.generation, shareUpdatedAt: new Date(wallet.shareUpdatedAt).toISOString() });
  throw new Refusal('REFRESH_REQUIRED', reason, 'refresh-every');
}


/** A refusal, counted and logged (the code and rule, not the reason: the device has that). */
function refused(context: RequestContext, walletId: string, request: string, code: RefusalCode, rule?: string): void {
  context.metrics?.refused(code);
  context.log(`wallet ${walletId}: refused ${request}: ${code}${rule === undefined ? '' : ` (${rule})`}`, { walletId, request, code, ...(rule === undefined ? {} : { rule }) });
}

function lockedReason(wallet: WalletRecord): string {
  return `This wallet is locked after a failed protocol check (${wallet.lockedReason ?? 'unknown'}); refresh it before signing again.`;
}

async function audit(context: RequestContext, kind: 'abort' | 'refuse', wallet: WalletRecord, summary: AuditSummaryInput): Promise<void> {
  await context.store.audit.append({ kind, walletId: wallet.walletId, summary });
}


/**
 * EIP-712 hashes the domain through its declared EIP712Domain type: a domain field the type
 * does not declare is not signed, so a policy must never read it. Such payloads are refused.
 */
function assertDomainDeclared(payload: SignablePayload): void {
  if (payload.kind !== 'typedData') return;
  const typed = payload.typedData as { domain?: Record<string, unknown>; types?: Record<string, readonly { name: string }[] | undefined> };
  const declared = typed.types?.EIP712Domain;
  if (!declared) return;
  const names = new Set(declared.map((field) => field.name));
  const undeclared = Object.keys(typed.domain ?? {}).filter((key) => typed.domain![key] !== undefined && !names.has(key));
  if (undeclared.length) throw new Refusal('BAD_REQUEST', `The typed data's domain has fields its EIP712Domain type does not declare: ${undeclared.join(', ')}.`);
}


