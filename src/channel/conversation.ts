/**
 * A conversation: one encrypted session as the application sees it. Messages are numbered by
 * round (the application's step number), queued in arrival order, and every wait ends: with the
 * message, CHANNEL_TIMEOUT, CHANNEL_EXPIRED when the request's expiry passes, CHANNEL_DISCONNECTED
 * when the broker is gone, or the error that killed the session.
 */
import { bytesToHex, hexToBytes } from '../mpc/bytes.js';
import { ChannelError, invalidArgument } from './errors.js';
import type { Frame } from './frame.js';
import type { ChannelSession, SessionState } from './session.js';
import { inboxTopic, instanceInboxTopic, type ChannelRole } from './topics.js';
import type { TransportState } from './transport.js';

export interface ReceivedMessage {
  round: number;
  body: Uint8Array;
}

/** Everything a restarted worker needs to go on (Channel.restore). Holds session keys: store it encrypted. */
export interface ConversationState {
  version: 1;
  session: SessionState;
  /** Sealed frames the broker has not acknowledged yet, oldest first (hex). */
  outbox: string[];
}

/** What a Conversation needs from the Channel that owns it. */
export interface ConversationHost {
  publish(topic: string, payload: Uint8Array): Promise<void>;
  transportState(): TransportState;
  now(): number;
  /** The conversation ended: forget it, and ignore late frames of its session. */
  ended(conversation: Conversation): void;
  report(error: ChannelError, conversation: Conversation): void;
}

interface Waiter {
  resolve(message: ReceivedMessage): void;
  reject(error: ChannelError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** setTimeout's delay is a signed 32-bit integer; longer waits are re-armed. */
const MAX_TIMER_MS = 0x7fff_ffff;

export class Conversation {
  readonly walletId: string;
  readonly sessionId: string;
  readonly localRole: ChannelRole;
  readonly peerRole: ChannelRole;
  readonly peerIdentity: Uint8Array;
  /** Unix ms after which nothing of this conversation is sent or accepted. */
  readonly expiresAt: number;
  readonly initiator: boolean;

  readonly #session: ChannelSession;
  readonly #host: ConversationHost;
  readonly #inbox: ReceivedMessage[] = [];
  /** Sealed frames not yet acknowledged by the broker. Their sequence numbers are spent, so they must go out. */
  readonly #outbox: Uint8Array[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #readyWaiters = new Set<{ resolve(): void; reject(error: ChannelError): void }>();
  #error: ChannelError | undefined;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #sendChain: Promise<unknown> = Promise.resolve();

  /** @internal Conversations are made by Channel.open, Channel.onConversation and Channel.restore. */
  constructor(session: ChannelSession, host: ConversationHost, outbox: Uint8Array[] = []) {
    this.#session = session;
    this.#outbox.push(...outbox);
    this.#host = host;
    this.walletId = session.walletId;
    this.sessionId = session.sessionId;
    this.localRole = session.localRole;
    this.peerRole = session.peerRole;
    this.peerIdentity = session.peerIdentity;
    this.expiresAt = session.expiresAt;
    this.initiator = session.handshakeRole === 'initiator';
    if (session.dead) this.#error = session.error ?? new ChannelError('CHANNEL_CLOSED', 'This conversation was closed.');
    else this.#armExpiry();
  }

  /** True once the handshake is complete (always for the responder). */
  get established(): boolean {
    return this.#session.established;
  }

  /** True once the conversation ended, by close() or by an error. */
  /** The pooled responder instance that took this conversation ('' before its accept, or for a responder not in a pool). */
  get peerInstance(): string {
    return this.#session.peerInstance;
  }

  get closed(): boolean {
    return this.#error !== undefined;
  }

  /** The error that ended the conversation, if any (CHANNEL_CLOSED after close()). */
  get error(): ChannelError | undefined {
    return this.#error;
  }

  /**
   * Sends one message. The initiator's first send waits for the accept (the peer may be offline:
   * the broker holds the hello until it returns, and the wait ends at the latest at expiry).
   * Resolves when the broker has taken the frame. If it rejects with CHANNEL_DISCONNECTED the
   * message is still committed: it goes out by itself once the transport is back. Do not send it again.
   */
  send(round: number, body: Uint8Array, options: { expiresAt?: number } = {}): Promise<void> {
    const run = this.#sendChain.then(async () => {
      this.#assertOpen();
      await this.#ready();
      try {
        this.#outbox.push(await this.#session.seal(round, body, options));
      } catch (error) {
        if (this.#session.dead) this.#fail(error as ChannelError);
        throw error;
      }
      await this.#flush();
    });
    this.#sendChain = run.catch(() => undefined);
    return run;
  }

  /**
   * The next message from the peer, in order. Rejects with CHANNEL_TIMEOUT after `timeoutMs`
   * (the conversation goes on), with CHANNEL_EXPIRED at its expiry, with CHANNEL_DISCONNECTED
   * while the broker is unreachable, or with the error that ended the conversation.
   */
  receive(options: { timeoutMs?: number } = {}): Promise<ReceivedMessage> {
    const queued = this.#inbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#error) return Promise.reject(this.#error);
    const transport = this.#host.transportState();
    if (transport === 'offline' || transport === 'paused') return Promise.reject(disconnected());
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      return Promise.reject(invalidArgument('timeoutMs must be a non-negative number.'));
    }
    return new Promise<ReceivedMessage>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new ChannelError('CHANNEL_TIMEOUT', 'No message from the peer arrived in time.', { details: `waited ${timeoutMs} ms` }));
        }, Math.min(timeoutMs, MAX_TIMER_MS));
      }
      this.#waiters.add(waiter);
    });
  }

  /**
   * The state to store (encrypted: it holds session keys) so a restarted worker can Channel.restore it.
   * Take it when no send() or receive() is half-way, for example after each step.
   */
  export(): ConversationState {
    return { version: 1, session: this.#session.export(), outbox: this.#outbox.map((frame) => bytesToHex(frame)) };
  }

  /** Ends the conversation locally and overwrites its keys. The peer is not told. */
  close(): void {
    this.#fail(new ChannelError('CHANNEL_CLOSED', 'This conversation was closed.'));
  }

  /** @internal One frame of this conversation's session, from the Channel's dispatcher. */
  async deliver(frame: Uint8Array | Frame): Promise<void> {
    if (this.#error) return;
    let result;
    try {
      result = await this.#session.receive(frame);
    } catch (error) {
      const channelError = error instanceof ChannelError ? error : new ChannelError('CHANNEL_BAD_FRAME', 'A frame could not be processed.', { cause: error });
      this.#host.report(channelError, this);
      this.#fail(channelError);
      return;
    }
    if (result.kind === 'established') {
      for (const waiter of this.#readyWaiters) waiter.resolve();
      this.#readyWaiters.clear();
    } else if (result.kind === 'message') {
      const message = { round: result.round, body: result.body };
      const waiter = this.#waiters.values().next().value;
      if (waiter) {
        this.#waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(message);
      } else {
        this.#inbox.push(message);
      }
    }
  }

  /** @internal The transport stayed offline past its grace period: waiting calls fail, the conversation stays. */
  disconnected(): void {
    this.#rejectWaiters(disconnected());
  }

  /** @internal The transport is back: publish what the broker has not acknowledged yet. */
  resume(): void {
    if (this.#error || this.#outbox.length === 0) return;
    const run = this.#sendChain.then(() => this.#flush());
    this.#sendChain = run.catch(() => undefined);
  }

  /** @internal Ends the conversation with the given error (transport closed, accept not publishable...). */
  abort(error: ChannelError): void {
    this.#fail(error);
  }

  #ready(): Promise<void> {
    if (this.#session.established) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#readyWaiters.add({ resolve, reject }));
  }

  async #flush(): Promise<void> {
    while (this.#outbox.length > 0) {
      this.#assertOpen();
      await this.#host.publish(this.#peerTopic(), this.#outbox[0]!);
      this.#outbox.shift();
    }
  }

  #peerTopic(): string {
    const instance = this.initiator ? this.#session.peerInstance : '';
    return instance ? instanceInboxTopic(this.walletId, this.peerRole, instance) : inboxTopic(this.walletId, this.peerRole);
  }

  #armExpiry(): void {
    const remaining = this.expiresAt - this.#host.now();
    this.#expiryTimer = setTimeout(
      () => {
        if (this.#host.now() > this.expiresAt) {
          this.#fail(new ChannelError('CHANNEL_EXPIRED', 'The request expired before it was completed.', { details: `expired at ${this.expiresAt}` }));
        } else {
          this.#armExpiry();
        }
      },
      Math.max(0, Math.min(remaining + 1, MAX_TIMER_MS)),
    );
  }

  #assertOpen(): void {
    if (this.#error) throw this.#error;
  }

  #fail(error: ChannelError): void {
    if (this.#error) return;
    this.#error = error;
    clearTimeout(this.#expiryTimer);
    // After an abort nothing of the session is handed out, not even messages that arrived before it.
    this.#inbox.length = 0;
    this.#outbox.length = 0;
    this.#session.close();
    this.#rejectWaiters(error);
    this.#host.ended(this);
  }

  #rejectWaiters(error: ChannelError): void {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#waiters.clear();
    for (const waiter of this.#readyWaiters) waiter.reject(error);
    this.#readyWaiters.clear();
  }
}

/** Checks and decodes the outbox of an exported conversation. */
export function importOutbox(outbox: unknown): Uint8Array[] {
  if (!Array.isArray(outbox) || outbox.some((frame) => typeof frame !== 'string' || !/^([0-9a-f]{2})+$/.test(frame))) {
    throw invalidArgument('This is not a valid exported conversation.', 'outbox must be a list of hex frames');
  }
  return outbox.map((frame: string) => hexToBytes(frame));
}

function disconnected(): ChannelError {
  return new ChannelError('CHANNEL_DISCONNECTED', 'The broker is unreachable; the transport keeps retrying.');
}
