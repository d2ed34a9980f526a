/**
 * The embedded broker: Aedes (MQTT 3.1.1) inside the co-signer process, served to devices over
 * WSS, with every rule of access-rules.ts enforced in its hooks.
 *
 * Devices log in with username = device id, password = a device token, client id = the one bound
 * to the device (`d-<deviceId>`). Approvers log in the same way with their approver id, an approver
 * token and `a-<approverId>`; the token's kind must match the client id's. The co-signer itself never logs in over the network: its client reaches the
 * broker through an in-process stream (`connectCosignerClient`). Only such streams may use the
 * privileged login, and they must also present a random secret that never leaves the process.
 * A loopback TCP listener would have put a privileged login on a socket that any local process
 * can reach; the in-process stream also skips TLS and the kernel on the co-signer's hot path.
 */
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type AuthenticateError, type AuthErrorCode, type Client } from 'aedes';
import { MqttClient, type IClientOptions } from 'mqtt';
import { WebSocketServer, createWebSocketStream, type RawData } from 'ws';
import { DEVICE_ID_PATTERN, approverClientId, deviceClientId } from '../../channel/topics.js';
import type { BrokerTokenVerifier } from '../tokens.js';
import {
  COSIGNER_CLIENT_ID,
  DEFAULT_MAX_PAYLOAD_BYTES,
  PACKET_OVERHEAD_BYTES,
  mayPublish,
  mayReceive,
  maySubscribe,
  type BrokerIdentity,
} from './access-rules.js';
import { BrokerSideError, EmbeddedBrokerError } from './errors.js';
import { inProcessPair } from './in-process-pair.js';
import { PacketSizeLimit } from './packet-size-limit.js';

export const DEFAULT_EMBEDDED_PORT = 8884;
export const WEBSOCKET_PATH = '/mqtt';

export interface EmbeddedBrokerOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Default 8884; 0 picks a free port. */
  port?: number;
  tls: { keyPem: string; certPem: string };
  /** Checks device and approver tokens; a TokenIssuer does. */
  tokens: BrokerTokenVerifier;
  /** Largest PUBLISH payload accepted from anyone. Default DEFAULT_MAX_PAYLOAD_BYTES. */
  maxPayloadBytes?: number;
  /** Secret of the co-signer's in-process login; a random one when omitted. */
  cosignerSecret?: string;
  /** An Aedes persistence (sessions and queues); Aedes keeps them in memory by default. */
  persistence?: AedesOptions['persistence'];
  /** Clients must announce a keepalive of 1..this many seconds, so dead connections are noticed. Default 300. */
  maxKeepaliveSeconds?: number;
  /** Refusals and token expiries, for logs and the audit trail. Never carries a token. */
  onAccessEvent?: (event: AccessEvent) => void;
  /** Whether a device may connect at all: a revoked one is refused even with an unexpired token. */
  deviceAllowed?: (deviceId: string) => Promise<boolean> | boolean;
  /**
   * Whether an approver may connect at all: a removed one is refused even with an unexpired token.
   * Answer true only for an active approver (a removed approver's record may be gone). When omitted,
   * every approver with a valid token is let in.
   */
  approverAllowed?: (approverId: string) => Promise<boolean> | boolean;
  /** Answers plain HTTPS requests on the same port (the co-signer's enrollment API). */
  httpHandler?: (request: IncomingMessage, response: ServerResponse) => void;
}

export interface AccessEvent {
  kind: 'connect-refused' | 'subscribe-refused' | 'publish-refused' | 'token-expired' | 'oversized-packet';
  clientId: string | undefined;
  deviceId: string | undefined;
  /** Set instead of deviceId when the client is (or claims to be) an approver. */
  approverId?: string;
  reason: string;
}

export interface EmbeddedBroker {
  /** What devices connect to, e.g. wss://127.0.0.1:8884/mqtt. */
  url: string;
  host: string;
  port: number;
  maxPayloadBytes: number;
  /** The Aedes instance, for in-process observers (tests, metrics). */
  broker: Aedes;
  /** Closes the device's live connection now (after a revocation). */
  disconnectDevice(deviceId: string): void;
  /** Closes the approver's live connection now (after its removal). */
  disconnectApprover(approverId: string): void;
  close(): Promise<void>;
}

interface Internals {
  secret: string;
  openPrivilegedStream(): Duplex;
}

const internalsOf = new WeakMap<EmbeddedBroker, Internals>();

/** Starts Aedes behind an HTTPS + WebSocket listener. Resolves once it accepts connections. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1) throw new TypeError(`maxPayloadBytes must be a positive integer, not ${maxPayloadBytes}.`);
  const maxPacketBytes = maxPayloadBytes + PACKET_OVERHEAD_BYTES;
  const secret = options.cosignerSecret ?? randomBytes(32).toString('base64url');
  const secretDigest = sha256(Buffer.from(secret, 'utf8'));
  const report = options.onAccessEvent ?? (() => {});

  const identities = new WeakMap<Client, BrokerIdentity>();
  const privilegedStreams = new WeakSet<Duplex>();
  const expiryTimers = new Map<Client, NodeJS.Timeout>();

  type Holder = { deviceId: string | undefined; approverId?: string };
  const refuseConnect = (client: Client, holder: Holder, code: number, reason: string, done: (error: AuthenticateError | null, success: boolean | null) => void) => {
    report({ kind: 'connect-refused', clientId: client.id, ...holder, reason });
    const error = new Error(reason) as AuthenticateError;
    error.returnCode = code as AuthErrorCode;
    done(error, false);
  };

  const broker = await Aedes.createBroker({
    persistence: options.persistence,
    keepaliveLimit: options.maxKeepaliveSeconds ?? 300,
    connectTimeout: 10_000,

    authenticate(client, username, password, done) {
      if (privilegedStreams.has(client.conn as Duplex)) {
        const ok = username === COSIGNER_CLIENT_ID && client.id === COSIGNER_CLIENT_ID && password !== undefined && timingSafeEqual(sha256(password), secretDigest);
        if (!ok) return refuseConnect(client, { deviceId: undefined }, 5, 'the in-process connection did not present the co-signer login', done);
        identities.set(client, { role: 'cosigner' });
        return done(null, true);
      }
      if (username === undefined || password === undefined) return refuseConnect(client, { deviceId: undefined }, 5, 'anonymous clients are refused', done);
      if (!DEVICE_ID_PATTERN.test(username)) return refuseConnect(client, { deviceId: undefined }, 4, 'the username is not a device or approver id', done);
      // the client id says which kind of holder this claims to be; the token must then agree
      const claimsApprover = client.id === approverClientId(username);
      const holder: Holder = claimsApprover ? { deviceId: undefined, approverId: username } : { deviceId: username };
      if (!claimsApprover && client.id !== deviceClientId(username)) {
        return refuseConnect(client, holder, 2, `${username} must connect with client id ${deviceClientId(username)} (a device) or ${approverClientId(username)} (an approver)`, done);
      }
      const refuse = (code: number, reason: string) => refuseConnect(client, holder, code, reason, done);
      options.tokens.verify(password.toString('utf8')).then(
        async (claims) => {
          if (claims.sub !== username) return refuse(4, `the token belongs to another ${claims.kind === 'approver' ? 'approver' : 'device'}`);
          // verify() binds cid to the token's kind and subject, so this also refuses a device token on an approver client id and the reverse
          if (claims.cid !== client.id) return refuse(2, `this ${claims.kind === 'approver' ? 'approver' : 'device'} token is bound to client id ${claims.cid}`);
          if (claims.kind === 'approver') {
            if (options.approverAllowed && !(await options.approverAllowed(claims.sub))) return refuse(5, 'the approver was removed');
            identities.set(client, { role: 'approver', approverId: claims.sub, expiresAt: claims.exp });
            return done(null, true);
          }
          if (options.deviceAllowed && !(await options.deviceAllowed(claims.sub))) return refuse(5, 'the device is revoked');
          identities.set(client, { role: 'device', deviceId: claims.sub, walletId: claims.wallet, expiresAt: claims.exp });
          done(null, true);
        },
        (error: unknown) => {
          const reason = error instanceof BrokerSideError ? error.shortMessage : 'the token could not be checked';
          refuse(4, reason);
        },
      )
        // deviceAllowed or approverAllowed failed (the store is unavailable): refuse, and never leave the CONNECT unanswered
        .catch(() => refuse(3, 'the co-signer could not check whether this client is still allowed'));
    },

    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      if (!identity) return done(new Error('unauthenticated client'));
      const decision = maySubscribe(identity, subscription.topic);
      if (decision.allowed) return done(null, subscription);
      report({ kind: 'subscribe-refused', clientId: client.id, ...holderOf(identity), reason: decision.reason });
      done(null, null);
    },

    // MQTT 3.1.1 cannot refuse one PUBLISH: the broker must acknowledge it or close the connection.
    // Aedes closes it, so a client that breaks a rule is disconnected and nothing is delivered.
    authorizePublish(client, packet, done) {
      const identity = client ? identities.get(client) : undefined;
      if (!client || !identity) return done(new Error('publishes need an authenticated client'));
      const payloadBytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
      const decision = mayPublish(identity, { topic: packet.topic, retain: packet.retain, payloadBytes }, maxPayloadBytes);
      if (decision.allowed) return done(null);
      report({ kind: 'publish-refused', clientId: client.id, ...holderOf(identity), reason: decision.reason });
      done(new Error(decision.reason));
    },

    authorizeForward(client, packet) {
      const identity = identities.get(client);
      return identity && mayReceive(identity, packet.topic) ? packet : null;
    },
  });

  broker.on('client', (client) => {
    const identity = identities.get(client);
    if (identity?.role === 'device' || identity?.role === 'approver') scheduleExpiry(client, identity.expiresAt);
  });
  broker.on('clientDisconnect', (client) => {
    clearTimeout(expiryTimers.get(client));
    expiryTimers.delete(client);
  });

  function scheduleExpiry(client: Client, expiresAt: number): void {
    // setTimeout holds at most ~24.8 days; a longer wait re-arms itself
    const delay = Math.min(Math.max(expiresAt * 1000 - Date.now(), 0), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      expiryTimers.delete(client);
      if (Date.now() < expiresAt * 1000) return scheduleExpiry(client, expiresAt);
      const identity = identities.get(client);
      report({ kind: 'token-expired', clientId: client.id, ...holderOf(identity), reason: `the ${identity?.role === 'approver' ? 'approver' : 'device'} token expired` });
      client.close();
    }, delay);
    timer.unref();
    expiryTimers.set(client, timer);
  }

  const server: Server = createServer({ key: options.tls.keyPem, cert: options.tls.certPem, minVersion: 'TLSv1.2' }, (request, response) => {
    if (options.httpHandler) return options.httpHandler(request, response);
    response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('MQTT over WebSocket only.\n');
  });
  server.on('tlsClientError', () => {});
  const wss = new WebSocketServer({ server, path: WEBSOCKET_PATH, maxPayload: maxPacketBytes, perMessageDeflate: false });
  wss.on('error', () => {});
  wss.on('connection', (socket, request) => {
    const limit = new PacketSizeLimit(maxPacketBytes);
    // registered before the stream's own listener, so an oversized packet is cut off before Aedes parses it
    socket.on('message', (data: RawData) => {
      if (limit.accept(bytesOf(data))) return;
      const identity = identities.get(client);
      report({ kind: 'oversized-packet', clientId: client.id, ...holderOf(identity), reason: `an MQTT packet larger than ${maxPacketBytes} bytes` });
      socket.terminate();
    });
    const stream = createWebSocketStream(socket);
    stream.on('error', () => {});
    const client = broker.handle(stream, request);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_EMBEDDED_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw new EmbeddedBrokerError(`The embedded broker cannot listen on ${host}:${options.port ?? DEFAULT_EMBEDDED_PORT}.`, {
      details: 'Another process may hold the port; choose another with the port option.',
      cause,
    });
  }
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const embedded: EmbeddedBroker = {
    url: `wss://${host.includes(':') ? `[${host}]` : host}:${port}${WEBSOCKET_PATH}`,
    host,
    port,
    maxPayloadBytes,
    broker,
    disconnectDevice(deviceId) {
      // Aedes keeps its live clients by id in `clients`, which its typings leave out.
      const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[deviceClientId(deviceId)];
      if (client) report({ kind: 'connect-refused', clientId: client.id, deviceId, reason: 'the device was revoked' });
      client?.close();
    },
    disconnectApprover(approverId) {
      const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[approverClientId(approverId)];
      if (client) report({ kind: 'connect-refused', clientId: client.id, deviceId: undefined, approverId, reason: 'the approver was removed' });
      client?.close();
    },
    close() {
      closing ??= (async () => {
        for (const timer of expiryTimers.values()) clearTimeout(timer);
        expiryTimers.clear();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const socket of wss.clients) socket.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
  internalsOf.set(embedded, {
    secret,
    openPrivilegedStream() {
      const [clientEnd, brokerEnd] = inProcessPair();
      if (broker.closed) {
        clientEnd.destroy();
        return clientEnd;
      }
      privilegedStreams.add(brokerEnd);
      broker.handle(brokerEnd);
      return clientEnd;
    },
  });
  return embedded;
}

/**
 * The co-signer's own mqtt.js client on the embedded broker, NOT yet connected: it starts
 * connecting now, through an in-process stream, and the caller attaches its handlers before
 * the CONNACK (queued messages of the persistent session arrive right after it).
 * `options` are taken for timing and the will; identity fields are forced.
 */
export function createCosignerClient(embedded: EmbeddedBroker, options: IClientOptions = {}): MqttClient {
  const internals = internalsOf.get(embedded);
  if (!internals) throw new EmbeddedBrokerError('This is not a broker started by startEmbeddedBroker.');
  return new MqttClient(() => internals.openPrivilegedStream(), {
    keepalive: 30,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...options,
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: false,
    clientId: COSIGNER_CLIENT_ID,
    username: COSIGNER_CLIENT_ID,
    password: internals.secret,
  });
}

export type CosignerClientOptions = Pick<IClientOptions, 'will' | 'keepalive' | 'reconnectPeriod' | 'connectTimeout' | 'resubscribe' | 'queueQoSZero'>;

/**
 * Connects the co-signer's own mqtt.js client to the embedded broker through an in-process
 * stream: MQTT 3.1.1, persistent session (`clean: false`), client id COSIGNER_CLIENT_ID.
 * Resolves once the broker accepted the login; the client reconnects by itself afterwards.
 */
export async function connectCosignerClient(embedded: EmbeddedBroker, options: CosignerClientOptions = {}): Promise<MqttClient> {
  const client = createCosignerClient(embedded, options);
  await waitUntilConnected(client, options.connectTimeout ?? 10_000).catch((cause: unknown) => {
    client.end(true);
    throw new EmbeddedBrokerError('The co-signer could not log in to its embedded broker.', { cause });
  });
  return client;
}

/** Resolves on the first CONNACK that accepts, rejects on a refusal or after `timeoutMs`. */
export function waitUntilConnected(client: MqttClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    const onConnect = () => finish();
    const onError = (error: Error) => finish(error);
    function finish(error?: Error) {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      if (error) reject(error);
      else resolve();
    }
    client.on('connect', onConnect);
    client.on('error', onError);
  });
}

/** The AccessEvent fields naming who a client is. */
function holderOf(identity: BrokerIdentity | undefined): { deviceId: string | undefined; approverId?: string } {
  if (identity?.role === 'approver') return { deviceId: undefined, approverId: identity.approverId };
  return { deviceId: identity?.role === 'device' ? identity.deviceId : undefined };
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function bytesOf(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
