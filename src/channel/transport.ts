/**
 * MQTT 3.1.1 transport on mqtt.js: one persistent connection (clean: false, fixed client id), QoS 1
 * both ways, and typed errors instead of hangs.
 *
 * An incoming message is acknowledged (PUBACK) only after every matching handler has finished with
 * it, so a process that dies while handling a message gets it again from the broker. mqtt.js hands
 * messages over one at a time, so a handler must never wait for an acknowledgement of its own
 * (publish or subscribe): that acknowledgement queues behind the handler and would never arrive.
 * A message that no handler matches yet is held briefly, because a persistent session delivers
 * queued messages right after the CONNACK, possibly before the application has subscribed.
 */
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { ChannelError, invalidArgument } from './errors.js';
import { FRAGMENT_HEADER_BYTES, FragmentAssembler, MIN_PIECE_BYTES, isFragment, splitIntoFragments } from './fragments.js';
import { MAX_FRAME_BYTES } from './frame.js';

type MqttPayload = Parameters<MqttClient['publishAsync']>[1];
type MqttWill = NonNullable<IClientOptions['will']>;
type TlsValue = string | Uint8Array;

export interface TlsOptions {
  /** Trusted CA certificate(s), PEM. Node only: a browser uses its own trust store. */
  ca?: TlsValue | TlsValue[];
  /** Client certificate and key for mutual TLS (PEM). Node only. */
  cert?: TlsValue;
  key?: TlsValue;
  rejectUnauthorized?: boolean;
  /** TLS server name (SNI) for mqtts://. */
  servername?: string;
}

export interface TransportOptions {
  /** mqtt://, mqtts://, ws:// or wss:// URL of the broker. */
  url: string;
  /** Fixed per party: the broker keeps its persistent session (subscriptions, queued QoS 1 messages) under it. */
  clientId: string;
  username?: string;
  password?: string;
  /** Default 20 s: short enough to keep an MV3 service worker alive while connected. */
  keepaliveSeconds?: number;
  /** Default false: the broker queues messages while this party is offline. */
  clean?: boolean;
  /** Published by the broker if the connection drops without a DISCONNECT (QoS 1). */
  will?: { topic: string; payload: Uint8Array; retain?: boolean };
  tls?: TlsOptions;
  /** Default 10 s for the first connection. */
  connectTimeoutMs?: number;
  /** Default 1 s between reconnection attempts. */
  reconnectPeriodMs?: number;
  /** Default 5 s: how long a lost connection may take to come back before waiting calls fail with CHANNEL_DISCONNECTED. */
  offlineGraceMs?: number;
  /** Default 5 s: how long a message no handler matches waits for one before it is acknowledged and dropped. */
  unmatchedHoldMs?: number;
  /**
   * Publishes a message longer than this as fragments of at most this many bytes (see fragments.ts):
   * for a co-signer behind Mosquitto, whose WebSockets deliver large messages slowly. Off by default.
   */
  fragmentAboveBytes?: number;
  /** Puts fragments back together before any handler sees them. Parties a co-signer sends to set it. */
  reassembleFragments?: boolean;
  /**
   * Runs a message's handlers in a task of their own instead of inside mqtt.js's packet processing
   * (Node parties pass setImmediate: see src/node/next-task.ts). The message is still acknowledged
   * only after its handlers finished.
   */
  runHandlersLater?: (run: () => void) => void;
  /** Told about a handler that threw; handlers should not throw, but one that does must not stop the others. */
  onHandlerError?: (error: unknown, topic: string) => void;
  /**
   * Builds the mqtt.js client instead of mqtt.connect(url), for an in-process broker without a socket.
   * Return it before its CONNACK: a client that is already connected may have acknowledged queued
   * messages before the transport could take them.
   */
  createClient?: (options: IClientOptions) => MqttClient | Promise<MqttClient>;
}

/**
 * idle -> connecting -> online <-> reconnecting -> offline (still retrying) -> online ...
 * online -> paused (pause(): disconnected on purpose) -> connecting (resume()) -> online.
 * closed is final: after close(), a refused reconnection, or a failed first connection.
 */
export type TransportState = 'idle' | 'connecting' | 'online' | 'reconnecting' | 'offline' | 'paused' | 'closed';
export type MessageHandler = (topic: string, payload: Uint8Array) => void | Promise<void>;
export type Unsubscribe = (options?: { atBroker?: boolean }) => Promise<void>;
export type StateListener = (state: TransportState, error?: ChannelError) => void;

/** MQTT topic filter matching, including `+`, `#` and `$share/<group>/` prefixes. */
export function topicMatches(filter: string, topic: string): boolean {
  const shared = /^\$share\/[^/]+\/(.*)$/.exec(filter);
  const filterLevels = (shared ? shared[1]! : filter).split('/');
  const topicLevels = topic.split('/');
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i]!;
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

function toMqttWill(will: NonNullable<TransportOptions['will']>): MqttWill {
  return { topic: will.topic, payload: will.payload as unknown as MqttPayload, qos: 1, retain: will.retain ?? false };
}

/** CONNACK return codes 4 (bad user name or password) and 5 (not authorized). */
function isAuthRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 4 || code === 5 || code === 134 || code === 135;
}

export class MqttTransport {
  readonly #options: TransportOptions;
  #client: MqttClient | undefined;
  #state: TransportState = 'idle';
  #closedBy: ChannelError | undefined;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #listeners = new Set<StateListener>();
  readonly #inFlight = new Set<(error: ChannelError) => void>();
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Wakes a dispatch that holds a message no handler matched, when a handler is added. */
  #handlerAdded: (() => void) | undefined;
  readonly #fragments: FragmentAssembler | undefined;

  constructor(options: TransportOptions) {
    if (!options.url || !options.clientId) throw invalidArgument('A transport needs a broker URL and a client id.');
    const fragmentBytes = options.fragmentAboveBytes;
    const smallest = FRAGMENT_HEADER_BYTES + MIN_PIECE_BYTES;
    if (fragmentBytes !== undefined && (!Number.isInteger(fragmentBytes) || fragmentBytes < smallest)) throw invalidArgument(`fragmentAboveBytes must be an integer of at least ${smallest}.`);
    this.#options = options;
    this.#fragments = options.reassembleFragments ? new FragmentAssembler({ maxMessageBytes: MAX_FRAME_BYTES }) : undefined;
  }

  get state(): TransportState {
    return this.#state;
  }

  /** Why the transport closed: CHANNEL_CLOSED after close(), otherwise the refusal or failure. */
  get closedBy(): ChannelError | undefined {
    return this.#closedBy;
  }

  get clientId(): string {
    return this.#options.clientId;
  }

  /** The underlying mqtt.js client, for tests and diagnostics. */
  get mqttClient(): MqttClient | undefined {
    return this.#client;
  }

  onStateChange(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Connects and subscribes every filter registered so far. Register handlers (subscribe) before
   * connecting: a persistent session delivers queued messages right after the CONNACK.
   * Rejects with CHANNEL_AUTH_REFUSED, CHANNEL_CONNECT_FAILED or CHANNEL_SUBSCRIBE_REFUSED; after that the transport is closed.
   */
  async connect(): Promise<void> {
    if (this.#state !== 'idle') throw invalidArgument(`connect() was already called (state ${this.#state}).`);
    this.#setState('connecting');
    const options = this.#options;
    const tls = options.tls ?? {};
    const clientOptions: IClientOptions = {
      protocolVersion: 4,
      clientId: options.clientId,
      clean: options.clean ?? false,
      keepalive: options.keepaliveSeconds ?? 20,
      reconnectPeriod: options.reconnectPeriodMs ?? 1000,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      resubscribe: true,
    };
    if (options.username !== undefined) clientOptions.username = options.username;
    if (options.password !== undefined) clientOptions.password = options.password;
    if (options.will) clientOptions.will = toMqttWill(options.will);
    if (tls.ca !== undefined) clientOptions.ca = tls.ca as IClientOptions['ca'];
    if (tls.cert !== undefined) clientOptions.cert = tls.cert as IClientOptions['cert'];
    if (tls.key !== undefined) clientOptions.key = tls.key as IClientOptions['key'];
    if (tls.rejectUnauthorized !== undefined) clientOptions.rejectUnauthorized = tls.rejectUnauthorized;
    if (tls.servername !== undefined) clientOptions.servername = tls.servername;

    // mqtt.js emits nothing before mqtt.connect returns, so the handler and listeners set here see every packet.
    let client: MqttClient;
    try {
      client = options.createClient ? await options.createClient(clientOptions) : mqtt.connect(options.url, clientOptions);
    } catch (cause) {
      const error = new ChannelError('CHANNEL_CONNECT_FAILED', 'Could not create the MQTT client.', { details: options.url, cause });
      this.#shutdown(error, false);
      throw error;
    }
    this.#client = client;
    client.handleMessage = (packet, done) => {
      this.#dispatch(packet.topic, packet.payload as unknown as Uint8Array).then(
        () => done(),
        () => done(),
      );
    };
    // Lifetime listeners; they stay quiet while a connection is being settled by #settle().
    client.on('connect', () => {
      // Nagle's algorithm holds a small PUBLISH behind the previous packet's delayed ACK (~40 ms per
      // hop on Linux). Only a Node TCP or TLS stream has setNoDelay; WebSockets already disable it.
      (client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined)?.setNoDelay?.(true);
      if (this.#state !== 'connecting') this.#online();
    });
    client.on('close', () => this.#connectionLost());
    client.on('error', (error) => {
      if (this.#state !== 'connecting' && isAuthRefusal(error)) {
        this.#shutdown(new ChannelError('CHANNEL_AUTH_REFUSED', 'The broker refused these credentials on reconnection.', { cause: error }), true);
      }
    });
    if (client.connected) this.#online();
    else await this.#settle(client, clientOptions.connectTimeout!);
    try {
      for (const filter of this.#handlers.keys()) await this.#subscribeFilter(filter);
    } catch (error) {
      this.#shutdown(error as ChannelError, true);
      throw error;
    }
  }

  /**
   * Disconnects on purpose (DISCONNECT, so no last will) and stays disconnected until resume().
   * The broker keeps the persistent session and queues this client's messages meanwhile.
   */
  async pause(): Promise<void> {
    const client = this.#client;
    if (this.#state === 'paused' || this.#state === 'closed' || !client) return;
    clearTimeout(this.#graceTimer);
    this.#setState('paused', this.#disconnected());
    const error = this.#disconnected();
    for (const abort of [...this.#inFlight]) abort(error);
    await this.#end(client);
  }

  /** Connects again after pause(), with the same client id; rejects like connect() and closes on failure. */
  async resume(): Promise<void> {
    const client = this.#client;
    if (this.#state !== 'paused' || !client) return;
    this.#setState('connecting');
    client.reconnect();
    await this.#settle(client, this.#options.connectTimeoutMs ?? 10_000);
  }

  /**
   * Calls `handler` for every message on topics matching `filter` (QoS 1), and returns a function
   * that removes it: by default also at the broker; with { atBroker: false } the persistent session
   * keeps the subscription, so the broker goes on queueing for this client id while it is away.
   * Rejects with CHANNEL_SUBSCRIBE_REFUSED if the broker refuses the filter.
   * Must not be awaited inside a message handler.
   */
  async subscribe(filter: string, handler: MessageHandler): Promise<Unsubscribe> {
    this.#assertOpen();
    let set = this.#handlers.get(filter);
    const isNew = !set;
    if (!set) this.#handlers.set(filter, (set = new Set()));
    set.add(handler);
    this.#handlerAdded?.();
    if (isNew && this.#client && (this.#state === 'online' || this.#state === 'reconnecting' || this.#state === 'offline')) {
      try {
        await this.#subscribeFilter(filter);
      } catch (error) {
        set.delete(handler);
        if (set.size === 0) this.#handlers.delete(filter);
        throw error;
      }
    }
    return async (options: { atBroker?: boolean } = {}) => {
      const current = this.#handlers.get(filter);
      if (!current?.delete(handler) || current.size > 0) return;
      this.#handlers.delete(filter);
      if ((options.atBroker ?? true) && this.#client && this.#state === 'online') await this.#client.unsubscribeAsync(filter).catch(() => undefined);
    };
  }

  /**
   * Publishes with QoS 1 and resolves when the broker acknowledged it. Retained only if asked.
   * Rejects with CHANNEL_DISCONNECTED when the connection is down for longer than the grace period
   * (mqtt.js may still deliver the message once it reconnects). Must not be awaited inside a message handler.
   */
  publish(topic: string, payload: Uint8Array, options: { retain?: boolean } = {}): Promise<void> {
    try {
      this.#assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (!(payload instanceof Uint8Array)) return Promise.reject(invalidArgument('A payload must be a Uint8Array.'));
    if (payload.length > MAX_FRAME_BYTES) return Promise.reject(invalidArgument(`A payload must not exceed ${MAX_FRAME_BYTES} bytes.`));
    if (this.#state === 'offline' || this.#state === 'paused') return Promise.reject(this.#disconnected());
    const client = this.#client;
    if (!client) return Promise.reject(new ChannelError('CHANNEL_NOT_READY', 'Connect the transport before publishing.'));
    const fragmentBytes = this.#options.fragmentAboveBytes;
    if (fragmentBytes !== undefined && payload.length > fragmentBytes && !options.retain) {
      // Issued back to back, so they leave in order; the message counts as taken once every piece is.
      return Promise.all(splitIntoFragments(payload, fragmentBytes).map((fragment) => this.#publishOne(client, topic, fragment, false))).then(() => undefined);
    }
    return this.#publishOne(client, topic, payload, options.retain ?? false);
  }

  #publishOne(client: MqttClient, topic: string, payload: Uint8Array, retain: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const abort = (error: ChannelError) => {
        this.#inFlight.delete(abort);
        reject(error);
      };
      this.#inFlight.add(abort);
      client.publish(topic, payload as unknown as MqttPayload, { qos: 1, retain }, (error) => {
        if (!this.#inFlight.delete(abort)) return;
        if (error) reject(this.#closedBy ?? new ChannelError('CHANNEL_DISCONNECTED', 'The broker did not take the message.', { cause: error }));
        else resolve();
      });
    });
  }

  /** New credentials (for example a renewed token) for the next reconnection. */
  setCredentials(username: string | undefined, password: string | undefined): void {
    this.#options.username = username;
    this.#options.password = password;
    if (this.#client) {
      this.#client.options.username = username;
      this.#client.options.password = password;
    }
  }

  /** Whether a last will is registered with the broker on each (re)connection. */
  get hasWill(): boolean {
    return this.#options.will !== undefined;
  }

  /** Replaces the last will for the next (re)connection; the current connection keeps the one it registered. */
  setWill(will: TransportOptions['will']): void {
    this.#options.will = will;
    if (this.#client) this.#client.options.will = will ? toMqttWill(will) : undefined;
  }

  /**
   * Disconnects cleanly (DISCONNECT, so no last will) after in-flight publishes are acknowledged,
   * within a second at most, and fails whatever still waits with CHANNEL_CLOSED.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed' && !this.#client) return;
    const client = this.#client;
    this.#client = undefined;
    this.#shutdown(new ChannelError('CHANNEL_CLOSED', 'The transport was closed.'), false);
    if (client) await this.#end(client);
  }

  /** Waits for the CONNACK of a (re)connection; on failure the transport closes with a typed error. */
  async #settle(client: MqttClient, timeoutMs: number): Promise<void> {
    const url = this.#options.url;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new ChannelError('CHANNEL_CONNECT_FAILED', 'The broker did not answer in time.', { details: `${url} within ${timeoutMs} ms` })),
          timeoutMs,
        );
        const finish = (error?: ChannelError) => {
          clearTimeout(timer);
          client.off('connect', onConnect);
          client.off('error', onError);
          client.off('close', onClose);
          if (error) reject(error);
          else resolve();
        };
        const onConnect = () => finish();
        const onClose = () => finish(new ChannelError('CHANNEL_CONNECT_FAILED', 'The broker closed the connection before accepting it.', { details: url }));
        const onError = (error: unknown) =>
          finish(
            isAuthRefusal(error)
              ? new ChannelError('CHANNEL_AUTH_REFUSED', 'The broker refused these credentials.', { details: url, cause: error })
              : new ChannelError('CHANNEL_CONNECT_FAILED', 'Could not connect to the broker.', { details: url, cause: error }),
          );
        client.on('connect', onConnect);
        client.on('error', onError);
        client.on('close', onClose);
      });
    } catch (error) {
      this.#shutdown(error as ChannelError, true);
      throw error;
    }
    this.#online();
  }

  /** Ends the mqtt.js client: cleanly if connected (waiting at most a second for in-flight acks), otherwise at once. */
  async #end(client: MqttClient): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
    if (!client.disconnected) client.end(true);
  }

  async #subscribeFilter(filter: string): Promise<void> {
    const refused = () => new ChannelError('CHANNEL_SUBSCRIBE_REFUSED', 'The broker refused this subscription.', { details: filter });
    const grants = await this.#client!.subscribeAsync(filter, { qos: 1 }).catch((cause: unknown) => {
      // mqtt.js fails the call with the SUBACK attached when the broker refuses (return code 0x80 and above).
      const granted = (cause as { packet?: { granted?: unknown } } | null)?.packet?.granted;
      if (Array.isArray(granted) && granted.some((code) => typeof code === 'number' && code >= 0x80)) throw refused();
      throw new ChannelError('CHANNEL_DISCONNECTED', 'Could not subscribe: the connection was lost.', { details: filter, cause });
    });
    if (grants.some((grant) => grant.qos >= 0x80)) throw refused();
  }

  async #dispatch(topic: string, payload: Uint8Array): Promise<void> {
    const later = this.#options.runHandlersLater;
    if (later) {
      await new Promise<void>((resolve) => later(resolve));
    }
    let bytes: Uint8Array;
    if (this.#fragments && isFragment(payload)) {
      // Earlier pieces are acknowledged as they come (mqtt.js hands over the next message only then);
      // the last one only after the handlers had the whole message, like any other message. The
      // assembler copies each piece, and the whole message is new: no copy of the payload first.
      let whole: Uint8Array | undefined;
      try {
        whole = this.#fragments.add(topic, payload);
      } catch (error) {
        this.#options.onHandlerError?.(error, topic);
      }
      if (!whole) return;
      bytes = whole;
    } else {
      bytes = new Uint8Array(payload);
    }
    let handlers = this.#matching(topic);
    if (handlers.length === 0) {
      const deadline = Date.now() + (this.#options.unmatchedHoldMs ?? 5000);
      while (handlers.length === 0 && Date.now() < deadline && this.#state !== 'closed') {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(wake, deadline - Date.now());
          function wake() {
            clearTimeout(timer);
            resolve();
          }
          this.#handlerAdded = wake;
        });
        this.#handlerAdded = undefined;
        handlers = this.#matching(topic);
      }
    }
    for (const handler of handlers) {
      try {
        await handler(topic, bytes);
      } catch (error) {
        this.#options.onHandlerError?.(error, topic);
      }
    }
  }

  #matching(topic: string): MessageHandler[] {
    const handlers: MessageHandler[] = [];
    for (const [filter, set] of this.#handlers) if (topicMatches(filter, topic)) handlers.push(...set);
    return handlers;
  }

  #online(): void {
    if (this.#state === 'closed') return;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    if (this.#state !== 'online') this.#setState('online');
  }

  #connectionLost(): void {
    if (this.#state !== 'online') return;
    this.#setState('reconnecting');
    this.#graceTimer = setTimeout(() => {
      if (this.#state !== 'reconnecting') return;
      const error = this.#disconnected();
      for (const abort of [...this.#inFlight]) abort(error);
      this.#setState('offline', error);
    }, this.#options.offlineGraceMs ?? 5000);
  }

  #disconnected(): ChannelError {
    return new ChannelError('CHANNEL_DISCONNECTED', 'The connection to the broker is down; it keeps retrying.', { details: this.#options.url });
  }

  #shutdown(reason: ChannelError, endClient: boolean): void {
    if (this.#state === 'closed') return;
    clearTimeout(this.#graceTimer);
    this.#closedBy = reason;
    if (endClient) this.#client?.end(true);
    for (const abort of [...this.#inFlight]) abort(reason);
    this.#fragments?.clear();
    this.#setState('closed', reason);
    this.#handlerAdded?.();
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw this.#closedBy ?? new ChannelError('CHANNEL_CLOSED', 'The transport is closed.');
  }

  #setState(state: TransportState, error?: ChannelError): void {
    this.#state = state;
    for (const listener of [...this.#listeners]) listener(state, error);
  }
}
