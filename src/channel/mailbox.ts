/**
 * A device's or an approver's mailbox at the co-signer: asks (status inquiries, decisions) and the
 * co-signer's unasked updates, as sealed letters (mail.ts) on the holder's two mail topics. The
 * transport's persistent session (clean: false, QoS 1) keeps letters for a holder that is away;
 * subscribe before connecting so none that were queued meanwhile is missed.
 */
import type { SignedDecision, MailFromCosigner, MailToCosigner, RequestView } from './approval-protocol.js';
import { bytesToHex, randomBytes } from '../mpc/bytes.js';
import { ChannelError } from './errors.js';
import type { Identity } from './identity.js';
import { openLetter, sealLetter } from './mail.js';
import { mailInTopic, mailOutTopic } from './topics.js';
import type { MqttTransport, Unsubscribe } from './transport.js';

export const DEFAULT_ASK_TIMEOUT_MS = 15_000;
/** A decision the co-signer has not answered is sent again after 10 s, then at doubling intervals up to 5 minutes. */
export const DECISION_RESEND_MS = 10_000;
const DECISION_RESEND_MAX_MS = 5 * 60_000;

type Reply = Exclude<MailFromCosigner, { type: 'update' }>;

export class Mailbox {
  readonly #transport: MqttTransport;
  readonly #identity: Identity;
  readonly #cosignerKey: Uint8Array;
  readonly #holderId: string;
  readonly #waiting = new Map<string, (reply: Reply) => void>();
  readonly #listeners = new Set<(request: RequestView) => void>();
  /**
   * Sealed decisions with no answer yet, by mail id. With every member of a co-signer pool down, no
   * session holds their letters (members keep none), so a decision is sent again until one answers;
   * the co-signer treats a repeated letter as the same decision.
   */
  readonly #unanswered = new Map<string, Uint8Array>();
  #resendTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #unsubscribe: Unsubscribe | undefined;

  private constructor(transport: MqttTransport, identity: Identity, cosignerKey: Uint8Array) {
    this.#transport = transport;
    this.#identity = identity;
    this.#cosignerKey = cosignerKey;
    this.#holderId = identity.deviceId;
  }

  /** Subscribes the holder's mail topic; call before transport.connect() to receive what waited. */
  static async open(transport: MqttTransport, identity: Identity, cosignerKey: Uint8Array): Promise<Mailbox> {
    const mailbox = new Mailbox(transport, identity, cosignerKey);
    mailbox.#unsubscribe = await transport.subscribe(mailInTopic(mailbox.#holderId), (_topic, payload) => {
      // Never awaited here: a handler that waits on the transport would stall its acknowledgements.
      void mailbox.#receive(payload);
    });
    return mailbox;
  }

  /** Called with each request the co-signer says changed; returns a function that stops listening. */
  onUpdate(listener: (request: RequestView) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The holder's requests (an approver's to decide, a device's own), newest first, and how many wait on the holder. */
  async list(options: { limit?: number; timeoutMs?: number } = {}): Promise<{ requests: RequestView[]; pendingForYou: number }> {
    const reply = await this.#ask({ type: 'inquire', mailId: newMailId(), ...(options.limit ? { limit: options.limit } : {}) }, options.timeoutMs);
    if (reply.type !== 'requests') throw unexpected(reply);
    return { requests: reply.requests, pendingForYou: reply.pendingForYou };
  }

  async show(requestId: string, options: { timeoutMs?: number } = {}): Promise<RequestView> {
    const reply = await this.#ask({ type: 'inquire', mailId: newMailId(), requestId }, options.timeoutMs);
    if (reply.type !== 'requests') throw unexpected(reply);
    const request = reply.requests[0];
    if (!request) throw new ChannelError('CHANNEL_INVALID_ARGUMENT', `The co-signer knows no request ${requestId} of yours.`);
    return request;
  }

  /** Sends a signed decision; resolves with the request as it stands after it. */
  async decide(decision: SignedDecision, options: { timeoutMs?: number } = {}): Promise<{ request: RequestView; counted: boolean }> {
    const reply = await this.#ask({ type: 'decide', mailId: newMailId(), decision }, options.timeoutMs);
    if (reply.type !== 'decided') throw unexpected(reply);
    return { request: reply.request, counted: reply.counted };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const resolve of this.#waiting.values()) resolve({ type: 'refused', replyTo: '', code: 'BAD_REQUEST', message: 'The mailbox was closed.' });
    this.#waiting.clear();
    this.#unanswered.clear();
    this.#stopResending();
    this.#listeners.clear();
    // The persistent session keeps the subscription: letters go on queueing while the holder is away.
    await this.#unsubscribe?.({ atBroker: false });
  }

  async #ask(body: MailToCosigner, timeoutMs = DEFAULT_ASK_TIMEOUT_MS): Promise<Reply> {
    const letter = await sealLetter(this.#identity, this.#cosignerKey, body);
    if (this.#closed) throw new ChannelError('CHANNEL_CLOSED', 'The mailbox was closed.');
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(body.mailId);
        const next =
          body.type === 'decide'
            ? 'Your decision is sent again, less and less often, while this app stays open, and counts once the co-signer receives it; look at the request again later, and decide again if it is still waiting for you.'
            : 'The question can be asked again later.';
        reject(new ChannelError('CHANNEL_TIMEOUT', `The co-signer did not answer within ${Math.round(timeoutMs / 1000)} s; it may be offline. ${next}`));
      }, timeoutMs);
      this.#waiting.set(body.mailId, (answer) => {
        clearTimeout(timer);
        this.#waiting.delete(body.mailId);
        resolve(answer);
      });
    });
    if (body.type === 'decide') this.#keepUntilAnswered(body.mailId, letter);
    try {
      await this.#transport.publish(mailOutTopic(this.#holderId), letter);
    } catch (error) {
      this.#answered(body.mailId);
      this.#waiting.get(body.mailId)?.({ type: 'refused', replyTo: body.mailId, code: 'BAD_REQUEST', message: (error as Error).message });
      throw error;
    }
    const answer = await reply;
    if (answer.type === 'refused') throw new MailRefusedError(answer.code, answer.message);
    return answer;
  }

  async #receive(payload: Uint8Array): Promise<void> {
    let body: MailFromCosigner;
    try {
      body = await openLetter<MailFromCosigner>(this.#identity, this.#cosignerKey, payload);
    } catch {
      return; // Not from our co-signer, or altered: dropped, as a tampered frame is.
    }
    if (typeof body !== 'object' || body === null) return;
    if (body.type === 'update') {
      for (const listener of this.#listeners) listener(body.request);
      return;
    }
    this.#answered(body.replyTo);
    this.#waiting.get(body.replyTo)?.(body);
  }

  #keepUntilAnswered(mailId: string, letter: Uint8Array): void {
    this.#unanswered.set(mailId, letter);
    if (!this.#resendTimer) this.#scheduleResend(DECISION_RESEND_MS);
  }

  /**
   * Backs off, so a single co-signer that is down (its persistent session queues every copy) finds
   * a few repeats when it returns, not one per 10 s of its absence.
   */
  #scheduleResend(delayMs: number): void {
    this.#resendTimer = setTimeout(() => {
      if (this.#closed || this.#unanswered.size === 0) return this.#stopResending();
      for (const pending of this.#unanswered.values()) void this.#transport.publish(mailOutTopic(this.#holderId), pending).catch(() => undefined);
      this.#scheduleResend(Math.min(2 * delayMs, DECISION_RESEND_MAX_MS));
    }, delayMs);
    // Node: a pending resend alone does not keep a process alive (service workers have no unref).
    (this.#resendTimer as { unref?: () => void }).unref?.();
  }

  #answered(mailId: string): void {
    this.#unanswered.delete(mailId);
    if (this.#unanswered.size === 0) this.#stopResending();
  }

  #stopResending(): void {
    clearTimeout(this.#resendTimer);
    this.#resendTimer = undefined;
  }
}

/** The co-signer refused an inquiry or a decision; `code` says why (approval-protocol MailRefusalCode). */
export class MailRefusedError extends ChannelError {
  override name = 'MailRefusedError';
  constructor(
    readonly refusal: string,
    message: string,
  ) {
    super('CHANNEL_INVALID_ARGUMENT', message, { details: refusal });
  }
}

function newMailId(): string {
  return bytesToHex(randomBytes(16));
}

function unexpected(reply: Reply): ChannelError {
  return new ChannelError('CHANNEL_BAD_FRAME', `The co-signer answered with ${reply.type}.`);
}
