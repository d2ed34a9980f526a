/**
 * The channel: encrypted conversations between pinned identities, over one MQTT transport.
 *
 * Incoming frames on the inboxes are routed by (wallet, session) to open conversations; a hello
 * for an unknown session becomes a new conversation for the onConversation handler, once its
 * sender is the identity pinned for that wallet. Correlation lives in the payload (session id and
 * round), so plain MQTT 3.1.1 suffices: no response topics, no correlation data.
 */
import { ChannelError, invalidArgument } from './errors.js';
import { Conversation, importOutbox, type ConversationHost, type ConversationState } from './conversation.js';
import { decodeFrame, peekSession, type Frame, type HelloFrame } from './frame.js';
import type { FrameCrypto } from './frame-crypto.js';
import type { Identity } from './identity.js';
import { parsePublicKey } from './identity.js';
import { ChannelSession, DEFAULT_MAX_LIFETIME_MS } from './session.js';
import { cosignerInstanceInboxFilter, inboxTopic, INSTANCE_ID_PATTERN, parseAnyInboxTopic, WALLET_ID_PATTERN, type ChannelRole } from './topics.js';
import type { MqttTransport, TransportState, Unsubscribe } from './transport.js';

/** The pinned identity key of `peerRole` in `walletId`, or undefined if there is none (the hello is refused). */
/**
 * The identity key pinned for a wallet's peer in a role. `offeredKey` is the key the hello came
 * with: a wallet with several devices answers with that one if it is one of its own.
 */
export type ResolvePeer = (walletId: string, peerRole: ChannelRole, offeredKey: Uint8Array) => Promise<Uint8Array | string | undefined> | Uint8Array | string | undefined;

export interface IncomingHello {
  walletId: string;
  sessionId: string;
  peerRole: ChannelRole;
  peerIdentity: Uint8Array;
  expiresAt: number;
}

export type ConversationHandler = (conversation: Conversation, hello: IncomingHello) => void | Promise<void>;

/** Where a refused frame came from, for logs and audits. */
export interface RejectedFrame {
  topic: string;
  walletId?: string;
  sessionId?: string;
}

export interface ChannelOptions {
  transport: MqttTransport;
  identity: Identity;
  /** This party's role. */
  role: ChannelRole;
  /** Inbox topics or filters to listen on, e.g. inboxTopic(walletId, 'device') or COSIGNER_INBOX_FILTER. */
  inboxes: string[];
  /** Needed to answer hellos (onConversation). */
  resolvePeer?: ResolvePeer;
  /**
   * For a pooled responder: its instance id. It also listens on its instance inbox and tells
   * initiators (in the accept) to send the rest of a session there.
   */
  instanceId?: string;
  now?: () => number;
  /** The data frames' symmetric primitives. Default webFrameCrypto. */
  frameCrypto?: FrameCrypto;
  /** How far ahead a session may expire. Default 24 h. */
  maxLifetimeMs?: number;
  /** How long frames for a session this channel does not know yet are kept for restore(). Default 60 s. */
  orphanTtlMs?: number;
  /** Told about every frame the channel refused or that ended a conversation. */
  onRejected?: (error: ChannelError, where: RejectedFrame) => void;
}

const MAX_ORPHAN_FRAMES = 256;
const HELLO_TYPE_BYTE = 1;
const MAX_FINISHED = 10_000;

function sessionKey(walletId: string, sessionId: string): string {
  return `${walletId}/${sessionId}`;
}

export class Channel {
  readonly role: ChannelRole;
  readonly #options: ChannelOptions;
  readonly #transport: MqttTransport;
  readonly #now: () => number;
  readonly #conversations = new Map<string, Conversation>();
  /** Sessions that ended here, until their expiry: their late or redelivered frames are ignored. */
  readonly #finished = new Map<string, number>();
  /** Frames of sessions not open here (yet): waiting for restore(), or hellos waiting for onConversation(). */
  readonly #orphans = new Map<string, { frames: Array<{ topic: string; payload: Uint8Array }>; at: number }>();
  readonly #unsubscribes: Unsubscribe[] = [];
  #handler: ConversationHandler | undefined;
  #stopStateListener: () => void = () => undefined;
  #closed = false;
  readonly #host: ConversationHost;

  private constructor(options: ChannelOptions) {
    if (options.instanceId !== undefined && !INSTANCE_ID_PATTERN.test(options.instanceId)) {
      throw invalidArgument('Not an instance id.', JSON.stringify(options.instanceId));
    }
    this.role = options.role;
    this.#options = options;
    this.#transport = options.transport;
    this.#now = options.now ?? Date.now;
    this.#host = {
      publish: (topic, payload) => this.#transport.publish(topic, payload),
      transportState: () => this.#transport.state,
      now: this.#now,
      ended: (conversation) => this.#ended(conversation),
      report: (error, conversation) => this.#report(error, { topic: '', walletId: conversation.walletId, sessionId: conversation.sessionId }),
    };
  }

  /**
   * Attaches a channel to a transport and subscribes its inboxes. Create it before
   * transport.connect(), so that messages the broker queued for this party are not missed.
   */
  static async create(options: ChannelOptions): Promise<Channel> {
    const channel = new Channel(options);
    channel.#stopStateListener = options.transport.onStateChange((state, error) => channel.#transportChanged(state, error));
    const inboxes = [...options.inboxes];
    if (options.instanceId !== undefined && options.role === 'cosigner') inboxes.push(cosignerInstanceInboxFilter(options.instanceId));
    for (const inbox of inboxes) await channel.listen(inbox);
    return channel;
  }

  /** Listens on one more inbox (for example a device's new wallet). */
  async listen(inbox: string): Promise<void> {
    this.#assertOpen();
    this.#unsubscribes.push(await this.#transport.subscribe(inbox, (topic, payload) => this.#onMessage(topic, payload)));
  }

  /**
   * Handles hellos from pinned peers: the handler gets the new conversation (already accepted).
   * Hellos that arrived before the handler was set are answered now.
   */
  onConversation(handler: ConversationHandler): void {
    if (!this.#options.resolvePeer) throw invalidArgument('Answering conversations needs a resolvePeer option.');
    const first = !this.#handler;
    this.#handler = handler;
    if (!first) return;
    this.#pruneOrphans();
    for (const [key, entry] of [...this.#orphans]) {
      if (entry.frames[0]?.payload[1] !== HELLO_TYPE_BYTE) continue;
      this.#orphans.delete(key);
      void (async () => {
        for (const frame of entry.frames) await this.#onMessage(frame.topic, frame.payload);
      })();
    }
  }

  /**
   * Opens a conversation with the pinned peer of a wallet: sends the hello and resolves once the
   * broker has it. The peer may be offline; the first send() or receive() waits for its accept.
   */
  async open(options: { walletId: string; peerRole: ChannelRole; peerIdentity: Uint8Array | string; expiresAt: number }): Promise<Conversation> {
    this.#assertOpen();
    if (!WALLET_ID_PATTERN.test(options.walletId)) throw invalidArgument('Not a wallet id.', JSON.stringify(options.walletId));
    const maxLifetimeMs = this.#options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
    if (options.expiresAt > this.#now() + maxLifetimeMs) throw invalidArgument(`A conversation may last at most ${maxLifetimeMs} ms.`);
    const { session, hello } = ChannelSession.initiate({
      identity: this.#options.identity,
      peerIdentity: parsePublicKey(options.peerIdentity),
      walletId: options.walletId,
      localRole: this.role,
      peerRole: options.peerRole,
      expiresAt: options.expiresAt,
      now: this.#now,
      frameCrypto: this.#options.frameCrypto,
    });
    const conversation = new Conversation(session, this.#host);
    this.#conversations.set(sessionKey(conversation.walletId, conversation.sessionId), conversation);
    try {
      await this.#transport.publish(inboxTopic(options.walletId, options.peerRole), hello);
    } catch (error) {
      conversation.abort(error as ChannelError);
      throw error;
    }
    return conversation;
  }

  /**
   * Brings back a conversation from Conversation.export() (after a service-worker restart), hands
   * it the frames of its session that arrived before it was restored, and sends what it had not sent.
   */
  async restore(state: ConversationState): Promise<Conversation> {
    this.#assertOpen();
    if (typeof state !== 'object' || state === null || state.version !== 1) throw invalidArgument('This is not a valid exported conversation.');
    const outbox = importOutbox(state.outbox);
    const session = ChannelSession.import(state.session, { identity: this.#options.identity, now: this.#now, frameCrypto: this.#options.frameCrypto });
    if (session.localRole !== this.role) throw invalidArgument(`This session belongs to the ${session.localRole} role.`);
    const key = sessionKey(session.walletId, session.sessionId);
    if (this.#conversations.has(key)) throw invalidArgument('This conversation is already open.');
    const conversation = new Conversation(session, this.#host, outbox);
    if (conversation.closed) return conversation;
    this.#conversations.set(key, conversation);
    this.#finished.delete(key);
    this.#pruneOrphans();
    const orphans = this.#orphans.get(key);
    this.#orphans.delete(key);
    for (const frame of orphans?.frames ?? []) await conversation.deliver(frame.payload);
    conversation.resume();
    return conversation;
  }

  /**
   * Closes every conversation and stops handling the inboxes. The broker keeps the subscriptions of
   * the persistent session, so messages that arrive while this party is away wait for its return.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const conversation of [...this.#conversations.values()]) conversation.close();
    this.#closed = true;
    this.#stopStateListener();
    for (const unsubscribe of this.#unsubscribes.splice(0)) await unsubscribe({ atBroker: false }).catch(() => undefined);
  }

  async #onMessage(topic: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) return;
    const inbox = parseAnyInboxTopic(topic);
    if (!inbox || inbox.role !== this.role) {
      this.#report(new ChannelError('CHANNEL_BAD_FRAME', 'A message arrived on a topic that is not an inbox of this role.'), { topic });
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(payload);
    } catch (error) {
      // Charge an undecodable frame to the session it names, if that session is open here.
      const claimed = peekSession(payload);
      const conversation = claimed && claimed.walletId === inbox.walletId ? this.#conversations.get(sessionKey(claimed.walletId, claimed.sessionId)) : undefined;
      if (conversation) await conversation.deliver(payload);
      else this.#report(error as ChannelError, { topic, ...claimed });
      return;
    }
    if (frame.type === 'status') {
      this.#report(new ChannelError('CHANNEL_BAD_FRAME', 'A presence frame arrived in an inbox.'), { topic });
      return;
    }
    const where = { topic, walletId: frame.walletId, sessionId: frame.sessionId };
    if (frame.walletId !== inbox.walletId) {
      this.#report(new ChannelError('CHANNEL_WRONG_SESSION', 'A frame names another wallet than the inbox it came through.'), where);
      return;
    }
    const key = sessionKey(frame.walletId, frame.sessionId);
    const conversation = this.#conversations.get(key);
    if (conversation) {
      await conversation.deliver(frame);
      return;
    }
    if (this.#finished.has(key)) return;
    if (frame.type === 'hello' && this.#handler) {
      await this.#answer(frame, where);
      return;
    }
    this.#keepOrphan(key, topic, payload);
  }

  async #answer(hello: HelloFrame, where: RejectedFrame): Promise<void> {
    const handler = this.#handler;
    const resolvePeer = this.#options.resolvePeer;
    if (!handler || !resolvePeer) {
      this.#report(new ChannelError('CHANNEL_NOT_READY', 'A hello arrived but this channel does not answer conversations.'), where);
      return;
    }
    let pinned: Uint8Array | string | undefined;
    try {
      pinned = await resolvePeer(hello.walletId, hello.fromRole, hello.identityKey);
    } catch (cause) {
      this.#report(new ChannelError('CHANNEL_UNKNOWN_PEER', 'Looking up the pinned identity failed.', { cause }), where);
      return;
    }
    if (pinned === undefined) {
      this.#report(new ChannelError('CHANNEL_UNKNOWN_PEER', 'No identity is pinned for this wallet and role.', { details: `${hello.walletId} ${hello.fromRole}` }), where);
      return;
    }
    let session: ChannelSession;
    let accept: Uint8Array;
    try {
      ({ session, accept } = ChannelSession.respond({
        identity: this.#options.identity,
        peerIdentity: parsePublicKey(pinned),
        hello,
        localRole: this.role,
        now: this.#now,
        frameCrypto: this.#options.frameCrypto,
        maxLifetimeMs: this.#options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS,
        instance: this.#options.instanceId ?? '',
      }));
    } catch (error) {
      this.#report(error as ChannelError, where);
      return;
    }
    const conversation = new Conversation(session, this.#host);
    this.#conversations.set(sessionKey(session.walletId, session.sessionId), conversation);
    // Not awaited: the PUBACK queues behind the message being handled right now.
    this.#transport.publish(inboxTopic(session.walletId, session.peerRole), accept).catch((error: ChannelError) => conversation.abort(error));
    const info: IncomingHello = {
      walletId: session.walletId,
      sessionId: session.sessionId,
      peerRole: session.peerRole,
      peerIdentity: session.peerIdentity,
      expiresAt: session.expiresAt,
    };
    Promise.resolve()
      .then(() => handler(conversation, info))
      .catch((error: unknown) => {
        const channelError = error instanceof ChannelError ? error : new ChannelError('CHANNEL_CLOSED', 'The conversation handler failed.', { cause: error });
        this.#report(channelError, where);
        conversation.abort(channelError);
      });
  }

  #keepOrphan(key: string, topic: string, payload: Uint8Array): void {
    this.#pruneOrphans();
    let total = 0;
    for (const entry of this.#orphans.values()) total += entry.frames.length;
    if (total >= MAX_ORPHAN_FRAMES) {
      const oldest = this.#orphans.keys().next().value;
      if (oldest !== undefined) this.#orphans.delete(oldest);
    }
    const entry = this.#orphans.get(key) ?? { frames: [], at: this.#now() };
    entry.frames.push({ topic, payload });
    this.#orphans.set(key, entry);
  }

  #pruneOrphans(): void {
    const oldest = this.#now() - (this.#options.orphanTtlMs ?? 60_000);
    for (const [key, entry] of this.#orphans) if (entry.at < oldest) this.#orphans.delete(key);
  }

  #ended(conversation: Conversation): void {
    const key = sessionKey(conversation.walletId, conversation.sessionId);
    if (this.#conversations.get(key) !== conversation) return;
    this.#conversations.delete(key);
    const now = this.#now();
    for (const [finishedKey, expiresAt] of this.#finished) if (expiresAt < now) this.#finished.delete(finishedKey);
    if (this.#finished.size >= MAX_FINISHED) this.#finished.delete(this.#finished.keys().next().value!);
    this.#finished.set(key, conversation.expiresAt);
  }

  #transportChanged(state: TransportState, error?: ChannelError): void {
    if (state === 'offline' || state === 'paused') for (const conversation of this.#conversations.values()) conversation.disconnected();
    if (state === 'online') for (const conversation of this.#conversations.values()) conversation.resume();
    if (state === 'closed') {
      const reason = error ?? new ChannelError('CHANNEL_CLOSED', 'The transport was closed.');
      for (const conversation of [...this.#conversations.values()]) conversation.abort(reason);
    }
  }

  #report(error: ChannelError, where: RejectedFrame): void {
    this.#options.onRejected?.(error, where);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ChannelError('CHANNEL_CLOSED', 'This channel was closed.');
  }
}
