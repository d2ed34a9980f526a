/**
 * The co-signer's approval desk: it answers mail from devices and approvers (status inquiries,
 * signed decisions), finishes a held request's signature once its quorum is met, broadcasts a
 * transaction through the chain's RPC when the operator configured one, expires requests whose
 * window passed, and mails every change to the request's device and approvers.
 */
import type { Hex } from 'viem';
import { verifyDecision, type MailFromCosigner, type MailToCosigner, type RequestView, type SignedDecision } from '../../channel/approval-protocol.js';
import { payloadFromWire, type WirePayload } from '../../channel/cosigner-protocol.js';
import type { Identity } from '../../channel/identity.js';
import { openLetter, sealLetter } from '../../channel/mail.js';
import { COSIGNER_MAIL_FILTER, mailInTopic, parseMailTopic } from '../../channel/topics.js';
import type { MqttTransport, Unsubscribe } from '../../channel/transport.js';
import { bytesToHex, hexToBytes } from '../../mpc/bytes.js';
import { ProtocolAbortError } from '../../mpc/errors.js';
import { payloadDigest } from '../../mpc/ethereum.js';
import { decodeMessage } from '../../mpc/message.js';
import { SignParty } from '../../mpc/sign.js';
import type { CosignerLog } from '../ops/log.js';
import type { RequestMetrics } from '../ops/metrics.js';
import { describePayload, signatureResult, signingRecord, toPolicyRequest } from '../payload-summary.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import { oneAtATime, spentToday } from '../wallet-queue.js';
import { DecisionRefusedError, SpendLimitError } from '../store/errors.js';
import type { CosignerStore } from '../store/types.js';
import type { ApprovalDesk } from './hold.js';

export interface MailDeskOptions {
  store: CosignerStore;
  identity: Identity;
  transport: MqttTransport;
  now: () => number;
  log: CosignerLog;
  /** Counts approved signatures and their aborts for /metrics. */
  metrics?: Pick<RequestMetrics, 'signed' | 'aborted'>;
  /** Chain id → JSON-RPC URL the co-signer broadcasts approved transactions through. */
  chainRpcUrls?: Record<number, string>;
  /** How often expiry is checked. Default 1 s. */
  sweepMs?: number;
  /** The mail filter: a pool member subscribes the shared one, so one instance takes each letter. Default COSIGNER_MAIL_FILTER. */
  mailFilter?: string;
}

type Holder = { kind: 'device'; id: string; key: Uint8Array; walletId: string } | { kind: 'approver'; id: string; key: Uint8Array };

const MAX_LIST = 200;
/** How long after its approval window an approved request may still be signed (a co-signer back from an outage). */
export const APPROVED_SIGN_GRACE_MS = 60 * 60_000;

export class MailDesk implements ApprovalDesk {
  readonly #options: MailDeskOptions;
  #unsubscribe: Unsubscribe | undefined;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  /** Where the sweep for requests ended by another process has got to, and which it told about. */
  #endedCursor: number;
  readonly #announcedEnded = new Set<string>();
  /** Requests being finished here: never two finishes of one request at once. */
  readonly #finishing = new Set<string>();
  /** Work in flight (mail being answered, signatures being finished), awaited by stop(). */
  readonly #busy = new Set<Promise<unknown>>();

  private constructor(options: MailDeskOptions) {
    this.#options = options;
    this.#endedCursor = options.now();
  }

  /** Subscribes the mail filter; call before the transport connects, so mail queued while the co-signer was away is read. */
  static async open(options: MailDeskOptions): Promise<MailDesk> {
    const desk = new MailDesk(options);
    desk.#unsubscribe = await options.transport.subscribe(options.mailFilter ?? COSIGNER_MAIL_FILTER, (topic, payload) => {
      // Not returned: the transport awaits a handler, and answering publishes, which must not wait inside one.
      void desk.#track(desk.#onMail(topic, payload));
    });
    return desk;
  }

  /** After the transport is up: finishes what a stop interrupted and starts the expiry sweep. */
  async start(): Promise<void> {
    const { store, log } = this.#options;
    for (const failed of await store.approvals.failInterrupted()) {
      log(`request ${failed.requestId}: the co-signer stopped while signing it; marked failed`);
      await this.announce(failed);
    }
    for (const requestId of await store.approvals.listApprovedUnsigned()) await this.#track(this.#finish(requestId));
    await this.#expire();
    this.#sweep = setInterval(() => void this.#track(this.#expire()), this.#options.sweepMs ?? 1000);
    this.#sweep.unref?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#sweep) clearInterval(this.#sweep);
    await Promise.allSettled([...this.#busy]);
    await this.#unsubscribe?.({ atBroker: false });
  }

  /** Mails the request as it stands to its device and to every approver it names. */
  async announce(request: RequestView): Promise<void> {
    if (request.state === 'rejected' || request.state === 'failed') this.#announcedEnded.add(request.requestId);
    const recipients = new Map<string, Holder>();
    const device = await this.#holder(request.deviceId);
    if (device) recipients.set(device.id, device);
    for (const quorum of request.quorums) {
      for (const approver of quorum.approvers) {
        const holder = await this.#holder(approver.approverId);
        if (holder?.kind === 'approver') recipients.set(holder.id, holder);
      }
    }
    await Promise.all([...recipients.values()].map((holder) => this.#send(holder, { type: 'update', request })));
  }

  #track<T>(work: Promise<T>): Promise<T> {
    const settled = work.catch((error: Error) => this.#options.log(`approvals: ${error.message.split('\n')[0]}`)) as Promise<T>;
    this.#busy.add(settled);
    void settled.finally(() => this.#busy.delete(settled));
    return settled;
  }

  async #holder(holderId: string): Promise<Holder | undefined> {
    const { store } = this.#options;
    const device = await store.getDevice(holderId);
    if (device) return device.status === 'revoked' ? undefined : { kind: 'device', id: device.deviceId, key: hexToBytes(device.identityPublicKey), walletId: device.walletId };
    const approver = await store.approvals.getApprover(holderId);
    if (approver?.status === 'active') return { kind: 'approver', id: approver.approverId, key: hexToBytes(approver.identityPublicKey) };
    return undefined;
  }

  async #send(holder: Holder, body: MailFromCosigner): Promise<void> {
    const letter = await sealLetter(this.#options.identity, holder.key, body);
    await this.#options.transport.publish(mailInTopic(holder.id), letter);
  }

  async #onMail(topic: string, payload: Uint8Array): Promise<void> {
    if (this.#stopped) return;
    const parsed = parseMailTopic(topic);
    if (!parsed || parsed.direction !== 'out') return;
    const holder = await this.#holder(parsed.holderId);
    if (!holder) return this.#answerRemoved(parsed.holderId, payload);
    let body: MailToCosigner;
    try {
      body = await openLetter<MailToCosigner>(this.#options.identity, holder.key, payload);
    } catch {
      return this.#options.log(`mail on ${parsed.holderId}'s box was not sealed by them: dropped`);
    }
    if (typeof body !== 'object' || body === null || typeof body.mailId !== 'string' || body.mailId.length > 64) return;
    try {
      if (body.type === 'inquire') await this.#inquire(holder, body);
      else if (body.type === 'decide') await this.#decide(holder, body);
      else await this.#send(holder, { type: 'refused', replyTo: (body as { mailId: string }).mailId, code: 'BAD_REQUEST', message: 'Unknown mail type.' });
    } catch (error) {
      if (!(error instanceof DecisionRefusedError)) throw error;
      await this.#send(holder, { type: 'refused', replyTo: body.mailId, code: error.code, message: error.shortMessage });
    }
  }

  /** Mail from a removed approver (sent before its removal reached the broker) gets a clear answer rather than silence. */
  async #answerRemoved(holderId: string, payload: Uint8Array): Promise<void> {
    const approver = await this.#options.store.approvals.getApprover(holderId);
    if (approver?.status !== 'removed') return this.#options.log(`mail from ${holderId}, who is no enrolled device or approver: dropped`);
    const former: Holder = { kind: 'approver', id: approver.approverId, key: hexToBytes(approver.identityPublicKey) };
    const body = await openLetter<Partial<MailToCosigner>>(this.#options.identity, former.key, payload).catch(() => undefined);
    if (typeof body?.mailId !== 'string' || body.mailId.length > 64) return;
    await this.#send(former, { type: 'refused', replyTo: body.mailId, code: 'NOT_AN_APPROVER', message: 'The operator removed you as an approver; your decisions no longer count.' });
  }

  /** A holder sees its own wallet's requests (a device) or the ones it is an approver of. */
  #visibleTo(holder: Holder, request: RequestView): boolean {
    if (holder.kind === 'device') return request.walletId === holder.walletId;
    return request.quorums.some((quorum) => quorum.approvers.some((approver) => approver.approverId === holder.id));
  }

  async #inquire(holder: Holder, body: Extract<MailToCosigner, { type: 'inquire' }>): Promise<void> {
    const { store } = this.#options;
    const scope = holder.kind === 'device' ? { walletId: holder.walletId } : { approverId: holder.id };
    const pendingForYou = await store.approvals.countPending(scope);
    if (body.requestId !== undefined) {
      const request = typeof body.requestId === 'string' ? await store.approvals.getRequest(body.requestId) : undefined;
      if (!request || !this.#visibleTo(holder, request)) throw new DecisionRefusedError('UNKNOWN_REQUEST', `There is no request ${String(body.requestId)} for you.`);
      return this.#send(holder, { type: 'requests', replyTo: body.mailId, requests: [request], pendingForYou });
    }
    const limit = Number.isSafeInteger(body.limit) && body.limit! > 0 ? Math.min(body.limit!, MAX_LIST) : 50;
    const requests = await store.approvals.listRequests({ ...scope, limit });
    return this.#send(holder, { type: 'requests', replyTo: body.mailId, requests, pendingForYou });
  }

  async #decide(holder: Holder, body: Extract<MailToCosigner, { type: 'decide' }>): Promise<void> {
    const { store } = this.#options;
    const decision = body.decision as Partial<SignedDecision> | undefined;
    const refuse = async (code: 'NOT_AN_APPROVER' | 'BAD_DECISION' | 'UNKNOWN_REQUEST', reason: string, walletId?: string) => {
      await store.audit.append({ kind: 'refuse', ...(walletId ? { walletId } : {}), summary: { decision: true, from: holder.id, requestId: typeof decision?.requestId === 'string' ? decision.requestId : null, reason } });
      throw new DecisionRefusedError(code, reason);
    };
    if (holder.kind !== 'approver') return refuse('NOT_AN_APPROVER', 'Only an approver decides on a request; a wallet device cannot approve its own.');
    if (!decision || typeof decision.requestId !== 'string' || (decision.verdict !== 'approve' && decision.verdict !== 'reject') || !Number.isSafeInteger(decision.decidedAt)) {
      return refuse('BAD_DECISION', 'This decision is malformed.');
    }
    const request = await store.approvals.getRequest(decision.requestId);
    if (!request || !this.#visibleTo(holder, request)) return refuse(request ? 'NOT_AN_APPROVER' : 'UNKNOWN_REQUEST', request ? `You are not an approver of request ${decision.requestId}.` : `There is no request ${decision.requestId}.`, request?.walletId);
    if (!verifyDecision(holder.key, decision as SignedDecision)) return refuse('BAD_DECISION', 'This decision is not signed by your approver key.', request.walletId);
    if (decision.walletId !== request.walletId || decision.digest !== request.digest || decision.payloadHash !== request.payloadHash) {
      return refuse('BAD_DECISION', `This decision was signed for another payload than request ${request.requestId} holds; it was not counted.`, request.walletId);
    }
    let outcome: { request: RequestView; counted: boolean };
    try {
      outcome = await store.approvals.recordDecision({ requestId: request.requestId, approverId: holder.id, verdict: decision.verdict, decidedAt: decision.decidedAt!, signature: decision.signature as Hex });
    } catch (error) {
      if (error instanceof DecisionRefusedError) {
        await store.audit.append({ kind: 'refuse', walletId: request.walletId, summary: { decision: true, from: holder.id, requestId: request.requestId, reason: error.shortMessage } });
      }
      throw error;
    }
    this.#options.log(`request ${request.requestId}: ${holder.id} decided ${decision.verdict}${outcome.counted ? '' : ' (again; counted once)'}; now ${outcome.request.state}`);
    await this.#send(holder, { type: 'decided', replyTo: body.mailId, request: outcome.request, counted: outcome.counted });
    if (!outcome.counted) return;
    if (outcome.request.state === 'approved') await this.#finish(outcome.request.requestId);
    else await this.announce(outcome.request);
  }

  /**
   * Signs an approved request with the presignature and device message it held, then broadcasts a
   * transaction. One finish per request in this process (a decision and the start-up recovery can
   * both ask), and under the wallet's signing queue, so the policy's daily limit sees it in order.
   */
  async #finish(requestId: string): Promise<void> {
    if (this.#finishing.has(requestId)) return;
    this.#finishing.add(requestId);
    try {
      const request = (await this.#options.store.approvals.getRequest(requestId))!;
      const signed = await oneAtATime(request.walletId, () => this.#sign(request));
      if (!signed) return;
      await this.announce(signed);
      if (signed.decoded.kind === 'transaction') await this.#broadcast(signed);
    } finally {
      this.#finishing.delete(requestId);
    }
  }

  async #sign(request: RequestView): Promise<RequestView | undefined> {
    const { store, log, now } = this.#options;
    const { requestId } = request;
    const payload = payloadFromWire(JSON.parse(request.payloadJson) as WirePayload);
    const policyRequest = toPolicyRequest(payload);
    let taken = false;
    try {
      // An approval is for now, not for whenever the co-signer comes back: past its window and a grace
      // period (a co-signer that was down meanwhile), an approved request fails instead of being signed.
      if (now() > request.expiresAt + APPROVED_SIGN_GRACE_MS) {
        const stale = await store.approvals.finish(requestId, 'failed', { error: `Approved, but not signed before ${new Date(request.expiresAt + APPROVED_SIGN_GRACE_MS).toISOString()} (the co-signer was unavailable); send it again.` });
        log(`request ${requestId}: approved too long ago to be signed now`, { requestId });
        await this.announce(stale);
        return undefined;
      }
      // Checklist item 6, once more at the last moment: what is signed is the digest the approvers saw.
      const digest = payloadDigest(payload);
      if (`0x${bytesToHex(digest)}` !== request.digest) throw new Error('the stored payload no longer hashes to the digest the approvers approved');
      // The policy as it is now: the operator may have changed it, and other signatures may have used the daily limit meanwhile.
      const policy = await store.getPolicy(request.walletId);
      const decision = evaluatePolicy(policy, policyRequest, { spentTodayWei: await spentToday(store, request.walletId, policyRequest, now(), { requestId, digest: request.digest }) });
      if (!decision.allowed) {
        const refused = await store.approvals.finish(requestId, 'failed', { error: `Approved, but the wallet's policy now refuses it (rule ${decision.rule}): ${decision.reason}` });
        log(`request ${requestId}: approved but refused by the policy now (${decision.rule})`, { requestId, walletId: request.walletId, code: 'POLICY', rule: decision.rule });
        await this.announce(refused);
        return undefined;
      }
      const held = await store.takeApprovedRequest(requestId, signingRecord({ ...describePayload(payload, digest), requestId }, policyRequest, digest, { policy, now: now() }));
      taken = true;
      const party = SignParty.fromState(held.presignature);
      const own = party.signPayload(payload);
      let result = own.result;
      for (const message of held.deviceMessages) result = party.receive(decodeMessage(hexToBytes(message))).result ?? result;
      if (!result || result.kind !== 'signature') throw new Error("the device's online message is missing");
      const signed = await store.approvals.finish(requestId, 'signed', signatureResult(payload, result.signature));
      this.#options.metrics?.signed('approved');
      log(`request ${requestId}: approved and signed`, { requestId, walletId: request.walletId });
      return signed;
    } catch (error) {
      // Refused before anything was taken (finished already, its device revoked meanwhile): whoever moved it on has said so.
      if (!taken && error instanceof DecisionRefusedError) {
        log(`request ${requestId}: not signed: ${error.shortMessage}`);
        return undefined;
      }
      // Another co-signer process recorded a spend between the policy check above and the take.
      const reason =
        error instanceof SpendLimitError
          ? `Approved, but the wallet's policy now refuses it (rule daily-limit): ${error.shortMessage}`
          : error instanceof ProtocolAbortError
            ? `signing aborted: ${error.shortMessage}`
            : `signing failed: ${(error as Error).message.split('\n')[0]}`;
      if (error instanceof ProtocolAbortError) this.#options.metrics?.aborted('sign');
      if (error instanceof ProtocolAbortError) await Promise.resolve().then(() => store.lockWallet(request.walletId, `held request ${requestId}: ${error.shortMessage}`)).catch(() => undefined);
      const current = await store.approvals.getRequest(requestId);
      const failed = current && (current.state === 'approved' || current.state === 'signed') ? await store.approvals.finish(requestId, 'failed', { error: reason }) : current;
      log(`request ${requestId}: ${reason}`, { level: 'warn', requestId, walletId: request.walletId });
      if (failed) await this.announce(failed);
      return undefined;
    }
  }

  async #broadcast(request: RequestView): Promise<void> {
    if (request.decoded.kind !== 'transaction') return;
    const url = this.#options.chainRpcUrls?.[request.decoded.chainId];
    // With no RPC for the chain, the signed transaction waits for the device, which sends it.
    if (!url || !request.result?.rawTransaction) return;
    let outcome: RequestView;
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [request.result.rawTransaction] }), signal: AbortSignal.timeout(15_000) });
      const answer = (await response.json()) as { result?: string; error?: { message?: string } };
      const alreadyKnown = /already known|known transaction/i.test(answer.error?.message ?? '');
      if (answer.error && !alreadyKnown) throw new Error(answer.error.message ?? 'the node refused it');
      outcome = await this.#options.store.approvals.finish(request.requestId, 'broadcast', {});
      this.#options.log(`request ${request.requestId}: broadcast ${request.result.transactionHash}`);
    } catch (error) {
      outcome = await this.#options.store.approvals.finish(request.requestId, 'failed', { error: `The transaction was signed but its broadcast failed: ${(error as Error).message}. The device can send it again.` });
      this.#options.log(`request ${request.requestId}: broadcast failed: ${(error as Error).message}`);
    }
    await this.announce(outcome);
  }

  async #expire(): Promise<void> {
    if (this.#stopped) return;
    for (const expired of await this.#options.store.approvals.expireDue()) {
      this.#options.log(`request ${expired.requestId}: expired unapproved; its presignature was destroyed`);
      await this.announce(expired);
    }
    // Ended elsewhere (the operator's CLI removing an approver or revoking a device): tell their parties too.
    const since = this.#endedCursor;
    for (const ended of await this.#options.store.approvals.listEndedSince(since)) {
      this.#endedCursor = Math.max(this.#endedCursor, ended.updatedAt + 1);
      if (this.#announcedEnded.has(ended.requestId)) continue;
      this.#announcedEnded.add(ended.requestId);
      await this.announce(ended);
    }
    if (this.#announcedEnded.size > 10_000) this.#announcedEnded.clear();
  }
}
