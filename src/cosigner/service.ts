/**
 * The co-signer service: store, identity, TLS, broker, channel and HTTPS API, started together.
 * Embedded mode (the default) runs an Aedes broker in this process on wss://127.0.0.1:8884/mqtt;
 * external mode joins a Mosquitto broker with mutual TLS and provisions device credentials
 * through its dynamic-security plugin.
 */
import { equalBytes } from '../mpc/bytes.js';
import { mkdirSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Channel } from '../channel/channel.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { presenceWill, startPresence, type PresencePublisher } from '../channel/presence.js';
import { COSIGNER_INBOX_FILTER } from '../channel/topics.js';
import { MqttTransport } from '../channel/transport.js';
import { createCosignerClient, startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
import { MosquittoDynsec } from './broker/mosquitto-dynsec.js';
import { DYNSEC_RESPONSE_TOPIC } from './broker/mosquitto-acls.js';
import { COSIGNER_CLIENT_ID, COSIGNER_SHARED_INBOX_FILTER, COSIGNER_SHARED_MAIL_FILTER } from './broker/access-rules.js';
import { createHttpApi, type CredentialIssuer } from './http-api.js';
import { loadOrCreateIdentity } from './identity-file.js';
import { loadOrCreateSealed } from './sealed-file.js';
import { serveConversation } from './requests.js';
import { MailDesk } from './approvals/desk.js';
import type { Conversation } from '../channel/conversation.js';
import { loadMasterKey, openStore, type CosignerStore, type SqliteCosignerStore } from './store/index.js';
import { ensureServerCertificate } from './tls.js';
import { DEFAULT_RESTORE_DELAY_MS } from './restore-policy.js';
import { TokenIssuer } from './tokens.js';
import { nodeFrameCrypto } from '../node/frame-crypto.js';
import { nextTask } from '../node/next-task.js';
import { DEFAULT_FRAGMENT_BYTES } from '../channel/fragments.js';
import { createLog, errorLine, type CosignerLog, type LogFormat } from './ops/log.js';
import { CosignerMetrics, METRICS_CONTENT_TYPE } from './ops/metrics.js';
import { HEALTH_PATH } from '../channel/enrollment.js';

export interface ExternalBrokerConfig {
  /** Where this co-signer connects, with its client certificate: mqtts://host:8883. */
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** What devices are told to connect to: wss://host:port. */
  deviceUrl: string;
  /** The CA devices must trust for deviceUrl, when it is not a public one. */
  deviceCaPem?: string;
  /** MQTT client id of this co-signer; stable, so its persistent session (and queued requests) survive restarts. */
  clientId?: string;
}

/** A co-signer on a shared PostgreSQL database instead of SQLite in dataDir; the master key and identity stay in dataDir. */
export interface PostgresCosignerConfig extends CosignerConfig {
  /** postgres:// or postgresql:// URL. */
  database: string;
}

/** This instance's place in a pool of co-signers sharing one store (PostgreSQL) and one external broker. */
export interface PoolMembership {
  /**
   * A name unique in the pool and stable across restarts (lowercase letters, digits, '-'): the
   * instance's MQTT client id is derived from it, so its persistent session survives a restart.
   */
  member: string;
}

export interface CosignerConfig {
  dataDir: string;
  /**
   * Join a pool: the co-signer inboxes and mail are shared subscriptions (one instance takes each new
   * conversation and each letter), and a conversation, once taken, goes on in this instance's own
   * inbox. Needs an external broker (Aedes has no shared subscriptions).
   */
  pool?: PoolMembership;
  /** Interface for the HTTPS API (and, embedded, the broker). Default 127.0.0.1. */
  host?: string;
  /** Default 8884; 0 picks a free port. */
  port?: number;
  /** Host names and addresses the generated certificate covers. Default 127.0.0.1 and localhost. */
  tlsHosts?: string[];
  masterKeyFile?: string;
  env?: Record<string, string | undefined>;
  enrollmentCode?: string;
  enrollLimit?: { limit: number; windowMs: number };
  maxPresignatures?: number;
  /** Join this broker instead of running one. */
  external?: ExternalBrokerConfig;
  /** Presence heartbeat; needed where the broker keeps no retained messages. Default 10 s on an external broker, off embedded. */
  heartbeatMs?: number;
  /**
   * How long a device enrolled from a recovery kit waits before the co-signer runs its restore:
   * the window in which the real owner (or the operator) can revoke a restore they did not start.
   * Default DEFAULT_RESTORE_DELAY_MS.
   */
  restoreDelayMs?: number;
  /**
   * The operational log. A plain `(line: string) => void` works; call sites also pass fields
   * (walletId, requestId, code...) as a second argument. Default: stderr, in `logFormat`.
   */
  log?: CosignerLog;
  /** Format of the default log: 'text' (human lines, the default) or 'json' (one object per line). Ignored with `log`. */
  logFormat?: LogFormat;
  /**
   * A plain-HTTP listener for GET /metrics (Prometheus text format) and GET /v1/health, for the
   * operator's scraper on an internal network. Off by default; 0 picks a free port. Metrics are
   * never served on the device-facing HTTPS port: they tell anyone how busy the co-signer is.
   */
  metricsPort?: number;
  /** Interface of the metrics listener. Default 127.0.0.1. */
  metricsHost?: string;
  /** Chain id → JSON-RPC URL through which approved transactions are broadcast. Without one, the device sends them. */
  chainRpcUrls?: Record<number, string>;
  /**
   * The clock of the store and of request checks (restore delay, daily limit, refresh age), so tests
   * can move time. Default Date.now. Tokens, presence, TLS and the revocation sweep keep the real clock.
   */
  now?: () => number;
}
/** How often revocations written by another process (the admin CLI) are picked up and their connections closed. */
const REVOCATION_SWEEP_MS = 1_000;

/** `S` is the store's type: SqliteCosignerStore (synchronous answers) unless `database` named PostgreSQL. */
export interface RunningCosigner<S extends CosignerStore = SqliteCosignerStore> {
  /** https://host:port: enrollment and token renewal. */
  url: string;
  /** What devices connect to. */
  brokerUrl: string;
  /** The certificate of the HTTPS API (and embedded broker): what a device trusts. */
  certPem: string;
  /** For Chromium's --ignore-certificate-errors-spki-list. */
  spkiHash: string;
  identityPublicKey: string;
  store: S;
  embedded: EmbeddedBroker | undefined;
  /** http://host:port of the metrics listener (serving /metrics and /v1/health), when metricsPort was given. */
  metricsUrl: string | undefined;
  metrics: CosignerMetrics;
  /** What GET /v1/health answers: 200 when status is 'ok', 503 otherwise. */
  health(): Promise<{ httpStatus: number; body: HealthReport }>;
  /**
   * Graceful drain before a stop: refuses every new request (and so every new conversation's first
   * one) with a draining reason, waits up to `timeoutMs` for requests in progress to finish, then
   * announces 'offline' presence. Health says 'draining' from the start. Call stop() after it.
   */
  drain(timeoutMs: number): Promise<{ drained: boolean; inFlight: number }>;
  /** Stops serving conversations but keeps the broker up: what "the co-signer is offline" looks like to a device. */
  pauseWorker(): Promise<void>;
  resumeWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** GET /v1/health. No secrets: ids, states and times only. */
export interface HealthReport {
  status: 'ok' | 'draining' | 'degraded';
  /** True when status is 'ok' (the field older clients read). */
  ok: boolean;
  /** This instance's presence id (changes per start and per resume). */
  instance: string;
  /** ISO 8601. */
  startedAt: string;
  uptimeS: number;
  /** 'connected', or the co-signer's broker transport state (connecting, reconnecting, offline, paused, closed). */
  broker: 'connected' | 'idle' | 'connecting' | 'reconnecting' | 'offline' | 'paused' | 'closed';
  store: 'ok' | 'error';
  /** Requests being served now. */
  inFlight: number;
  version: string;
}

/** The package version, for health: read once. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Conversations a device may keep open at once, and how long one may last. */
const MAX_CONVERSATIONS_PER_DEVICE = 4;
const POOL_MEMBER_PATTERN = /^[0-9a-z][0-9a-z-]{0,23}$/;
const MAX_CONVERSATION_LIFETIME_MS = 60 * 60_000;

export async function startCosigner(config: PostgresCosignerConfig): Promise<RunningCosigner<CosignerStore>>;
export async function startCosigner(config: CosignerConfig): Promise<RunningCosigner<SqliteCosignerStore>>;
export async function startCosigner(config: CosignerConfig & { database?: string }): Promise<RunningCosigner<CosignerStore>> {
  const log: CosignerLog = config.log ?? createLog({ format: config.logFormat ?? 'text', write: (line) => process.stderr.write(`${line}\n`), prefix: 'tandem-cosigner: ' });
  const processStartedAt = Date.now();
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const masterKey = loadMasterKey({ dataDir: config.dataDir, ...(config.masterKeyFile ? { keyFile: config.masterKeyFile } : {}), ...(config.env ? { env: config.env } : {}) });
  const clock = config.now ?? Date.now;
  const store = await openStore({ dataDir: config.dataDir, ...(config.database ? { database: config.database } : {}), masterKey, now: clock });
  const dropped = await store.dropReadyPresignatures();
  if (dropped > 0) log(`dropped ${dropped} unused presignatures from before this start (a restored one could have been used already); devices presign again`);
  const identity = loadOrCreateIdentity(config.dataDir, masterKey);
  const tls = await ensureServerCertificate(join(config.dataDir, 'tls'), config.tlsHosts ?? ['127.0.0.1', 'localhost']);
  const host = config.host ?? '127.0.0.1';
  // A new instance identity per start and per resume: devices watching presence see a newer co-signer.
  const newInstance = () => ({ instanceId: randomBytes(8).toString('hex'), startedAt: Date.now() });
  let instance = newInstance();
  const external = config.external;
  const retainStatus = !external;
  const heartbeatMs = config.heartbeatMs ?? (external ? 10_000 : 0);

  let credentials: CredentialIssuer;
  let embedded: EmbeddedBroker | undefined;
  let httpsServer: Server | undefined;
  let dynsec: MosquittoDynsec | undefined;
  let brokerUrl: string;
  let url: string;
  let handler: ReturnType<typeof createHttpApi> | undefined;
  // The listener comes up before the API can answer (the API needs the broker's URL): until then, 503.
  const httpHandler = (request: IncomingMessage, response: ServerResponse) => {
    if (!handler) return void response.writeHead(503).end();
    handler(request, response);
  };

  if (!external) {
    const created = await TokenIssuer.newSigningKeyPem();
    const signingKey = loadOrCreateSealed(config.dataDir, 'device-token-key', masterKey, () => new TextEncoder().encode(created));
    const tokens = TokenIssuer.fromPem(new TextDecoder().decode(signingKey));
    signingKey.fill(0);
    // JWT expiries are in seconds; the enrollment API speaks unix milliseconds.
    credentials = {
      issue: async (holder) => {
        const issued = 'approverId' in holder ? await tokens.issueApprover({ approverId: holder.approverId }) : await tokens.issue({ deviceId: holder.deviceId, walletId: holder.walletId });
        return { token: issued.token, expiresAt: issued.expiresAt * 1000 };
      },
    };
    embedded = await startEmbeddedBroker({
      host,
      port: config.port ?? 8884,
      tls: { keyPem: tls.keyPem, certPem: tls.certPem },
      tokens,
      httpHandler,
      deviceAllowed: async (deviceId) => (await store.getDevice(deviceId))?.status !== 'revoked',
      // only an active approver: a removed one's record may be gone (a new invitation under its name deletes it)
      approverAllowed: async (approverId) => (await store.approvals.getApprover(approverId))?.status === 'active',
      onAccessEvent: (event) => log(`broker: ${event.kind} ${event.clientId ?? '?'}: ${event.reason}`),
    });
    brokerUrl = embedded.url;
    url = `https://${embedded.host}:${embedded.port}`;
  } else {
    httpsServer = createHttpsServer({ key: tls.keyPem, cert: tls.certPem, minVersion: 'TLSv1.2' }, httpHandler);
    await new Promise<void>((resolve, reject) => {
      httpsServer!.once('error', reject);
      httpsServer!.listen(config.port ?? 8884, host, () => resolve());
    });
    const address = httpsServer.address();
    url = `https://${host}:${typeof address === 'object' && address ? address.port : config.port}`;
    brokerUrl = external.deviceUrl;
    credentials = {
      issue: async (holder) => {
        let issued: { password: string };
        if ('approverId' in holder) {
          const existing = await dynsec!.getApprover(holder.approverId);
          issued = existing ? await dynsec!.renewApproverCredentials(holder.approverId) : await dynsec!.provisionApprover(holder.approverId);
        } else {
          const existing = await dynsec!.getDevice(holder.deviceId);
          issued = existing ? await dynsec!.renewDeviceCredentials(holder.deviceId) : await dynsec!.provisionDevice({ deviceId: holder.deviceId, walletId: holder.walletId });
        }
        // Dynamic-security passwords do not expire at the broker: the holder renews them daily, and
        // each renewal replaces (so revokes) the previous one.
        return { token: issued.password, expiresAt: Date.now() + 24 * 3600_000 };
      },
    };
  }

  const pool = config.pool;
  if (pool) {
    if (!external) throw new TypeError('A pool of co-signers needs an external broker (Mosquitto or EMQX, with --broker-url ...): the embedded one has no shared subscriptions.');
    if (!POOL_MEMBER_PATTERN.test(pool.member)) throw new TypeError(`A pool member name is 1-24 lowercase letters, digits or '-', starting with a letter or digit; got ${JSON.stringify(pool.member)}.`);
  }
  const will = presenceWill(identity, instance, { retain: retainStatus });
  const transport = new MqttTransport(
    external
      ? {
          url: external.url,
          clientId: pool ? `${external.clientId ?? COSIGNER_CLIENT_ID}-${pool.member}` : (external.clientId ?? COSIGNER_CLIENT_ID),
          // A pool member's session is not kept: the broker would go on queueing its share of new
          // conversations and letters for a member that died, while the others are up. With every
          // member down, devices and approvers ask again once one is back.
          clean: Boolean(pool),
          will,
          tls: { ca: external.caPem, cert: external.certPem, key: external.keyPem },
          // Mosquitto's WebSockets hand a device ~4 KB per 100 ms: large frames go in pieces (fragments.ts).
          fragmentAboveBytes: DEFAULT_FRAGMENT_BYTES,
          runHandlersLater: nextTask,
        }
      : { url: 'embedded://cosigner', clientId: 'tandem-cosigner', clean: false, will, runHandlersLater: nextTask, createClient: (options) => createCosignerClient(embedded!, options) },
  );
  // A wallet may have a device and the one restoring it beside it: the hello names which, and only a device of this wallet that is not revoked is answered.
  const deviceKey = async (walletId: string, offered: Uint8Array) => {
    const device = await store.getDeviceByIdentityKey(Buffer.from(offered).toString('hex'));
    return device && device.walletId === walletId && device.status !== 'revoked' ? device.identityPublicKey : undefined;
  };
  const channel = await Channel.create({
    transport,
    identity,
    role: 'cosigner',
    inboxes: [pool ? COSIGNER_SHARED_INBOX_FILTER : COSIGNER_INBOX_FILTER],
    // In a pool, a conversation goes on in the inbox of the instance that took it.
    ...(pool ? { instanceId: instance.instanceId } : {}),
    resolvePeer: (walletId, _role, offered) => deviceKey(walletId, offered),
    maxLifetimeMs: MAX_CONVERSATION_LIFETIME_MS,
    frameCrypto: nodeFrameCrypto,
  });
  const liveConversations = new Map<string, Conversation[]>();
  const metrics = new CosignerMetrics({
    pendingApprovals: async () => store.approvals.countPending({}),
    liveConversations: () => {
      let count = 0;
      for (const live of liveConversations.values()) count += live.length;
      return count;
    },
    // The embedded broker knows its clients; an external one is asked directly (Mosquitto $SYS, EMQX metrics).
    connectedDevices: () => (embedded ? Object.keys((embedded.broker as unknown as { clients: Record<string, unknown> }).clients).filter((id) => id.startsWith('d-')).length : undefined),
    draining: () => draining,
  });
  // Before connecting: the persistent session hands over mail queued while the co-signer was away.
  const desk = await MailDesk.open({ store, identity, transport, now: clock, log, metrics, ...(pool ? { mailFilter: COSIGNER_SHARED_MAIL_FILTER } : {}), ...(config.chainRpcUrls ? { chainRpcUrls: config.chainRpcUrls } : {}) });
  await transport.connect();
  if (external) {
    dynsec = await MosquittoDynsec.attach(transport.mqttClient!);
    // MosquittoDynsec reads its answers from the mqtt.js client; the transport must claim the topic
    // too, or it would hold each answer back for a while as an unclaimed message.
    await transport.subscribe(DYNSEC_RESPONSE_TOPIC, () => undefined);
  }
  // Drain: requests are admitted through this gate; once draining, none are.
  let draining = false;
  let inFlight = 0;
  const gate = {
    enter: () => {
      if (draining) return false;
      inFlight++;
      return true;
    },
    leave: () => {
      inFlight--;
    },
  };
  const context = { store, maxPresignatures: config.maxPresignatures ?? 64, now: clock, log, restoreDelayMs: config.restoreDelayMs ?? DEFAULT_RESTORE_DELAY_MS, desk, metrics, gate };
  await desk.start();
  // Checklist: a revoked device's credentials stop working at once, not at token expiry. The broker
  // refuses its next connect; this closes the one it has, whichever process did the revoking.
  let revokedSince = Date.now();
  // Removed approvers likewise. Each is handled once per start: the first sweep also catches those
  // removed while this process was down (their Mosquitto client may still exist).
  const approversHandled = new Set<string>();
  const sweepRevocations = async () => {
    const now = Date.now();
    for (const device of await store.listRevokedSince(revokedSince)) {
      embedded?.disconnectDevice(device.deviceId);
      if (dynsec) await dynsec.revokeDevice(device.deviceId).catch((error: Error) => log(`broker: revoking ${device.deviceId} failed: ${error.message}`));
      for (const conversation of liveConversations.get(device.walletId) ?? []) {
        if (Buffer.from(conversation.peerIdentity).toString('hex') === device.identityPublicKey) conversation.close();
      }
    }
    revokedSince = now;
    for (const approver of await store.approvals.listApprovers()) {
      if (approver.status !== 'removed' || approversHandled.has(approver.approverId)) continue;
      embedded?.disconnectApprover(approver.approverId);
      if (dynsec) {
        try {
          await dynsec.revokeApprover(approver.approverId);
        } catch (error) {
          log(`broker: revoking approver ${approver.approverId} failed: ${(error as Error).message}`);
          continue; // tried again on the next sweep
        }
      }
      approversHandled.add(approver.approverId);
    }
  };
  const revocationTimer = setInterval(() => void sweepRevocations().catch(() => undefined), REVOCATION_SWEEP_MS);
  revocationTimer.unref();
  // A device needs one conversation at a time; a few more cover reconnects. A device that restarted
  // (an extension's service worker killed) cannot close the conversation it had: beyond the limit its
  // own oldest one gives way, so it is never locked out until its old ones expire. Counted per
  // device, so another device of the wallet (one enrolled to restore it) can never push it out.
  channel.onConversation(async (conversation) => {
    const live = liveConversations.get(conversation.walletId) ?? [];
    liveConversations.set(conversation.walletId, live);
    const samePeer = () => live.filter((other) => equalBytes(other.peerIdentity, conversation.peerIdentity));
    for (let own = samePeer(); own.length >= MAX_CONVERSATIONS_PER_DEVICE; own = samePeer()) {
      log(`wallet ${conversation.walletId}: closed a device's oldest conversation to open one beyond ${MAX_CONVERSATIONS_PER_DEVICE} live ones`);
      live.splice(live.indexOf(own[0]!), 1);
      own[0]!.close();
    }
    live.push(conversation);
    try {
      await serveConversation(context, conversation);
    } finally {
      const index = live.indexOf(conversation);
      if (index >= 0) live.splice(index, 1);
      if (live.length === 0 && liveConversations.get(conversation.walletId) === live) liveConversations.delete(conversation.walletId);
    }
  });
  let presence: PresencePublisher | undefined = await startPresence(transport, identity, instance, { heartbeatMs, retain: retainStatus, onError: () => undefined });
  handler = createHttpApi({
    store,
    credentials,
    brokerUrl,
    cosignerIdentity: identity.publicKeyHex,
    ...(external?.deviceCaPem ? { brokerCaPem: external.deviceCaPem } : {}),
    ...(config.enrollmentCode ? { enrollmentCode: config.enrollmentCode } : {}),
    ...(config.enrollLimit ? { enrollLimit: config.enrollLimit } : {}),
    log,
    health: () => health(),
  });

  const version = packageVersion();
  let lastStoreState: HealthReport['store'] = 'ok';
  const health = async (): Promise<{ httpStatus: number; body: HealthReport }> => {
    let storeState: HealthReport['store'] = 'ok';
    try {
      // A read that touches the database (an id no wallet has).
      await store.getWallet('0'.repeat(32));
    } catch (error) {
      storeState = 'error';
      // Once per failure, not per probe: a load balancer asks every few seconds.
      if (lastStoreState === 'ok') log(`health: the store failed: ${errorLine(error)}`, { level: 'error' });
    }
    if (storeState === 'ok' && lastStoreState === 'error') log('health: the store answers again');
    lastStoreState = storeState;
    const broker: HealthReport['broker'] = transport.state === 'online' ? 'connected' : transport.state;
    const status: HealthReport['status'] = draining ? 'draining' : storeState === 'ok' && broker === 'connected' ? 'ok' : 'degraded';
    const body: HealthReport = {
      status,
      ok: status === 'ok',
      instance: instance.instanceId,
      startedAt: new Date(processStartedAt).toISOString(),
      uptimeS: Math.round((Date.now() - processStartedAt) / 1000),
      broker,
      store: storeState,
      inFlight,
      version,
    };
    return { httpStatus: status === 'ok' ? 200 : 503, body };
  };

  let metricsServer: HttpServer | undefined;
  let metricsUrl: string | undefined;
  if (config.metricsPort !== undefined) {
    const metricsHost = config.metricsHost ?? '127.0.0.1';
    metricsServer = createHttpServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://metrics').pathname;
      const fail = (error: unknown) => {
        log(`metrics listener: ${errorLine(error)}`, { level: 'error' });
        if (!response.headersSent) response.writeHead(500).end();
      };
      if (request.method !== 'GET' && request.method !== 'HEAD') return void response.writeHead(405, { allow: 'GET' }).end();
      if (path === '/metrics') {
        metrics.render().then((text) => response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' }).end(text), fail);
      } else if (path === HEALTH_PATH) {
        health().then(({ httpStatus, body }) => response.writeHead(httpStatus, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body)), fail);
      } else {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Only /metrics and /v1/health here.\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      metricsServer!.once('error', reject);
      metricsServer!.listen(config.metricsPort, metricsHost, () => resolve());
    });
    const address = metricsServer.address();
    metricsUrl = `http://${metricsHost.includes(':') ? `[${metricsHost}]` : metricsHost}:${typeof address === 'object' && address ? address.port : config.metricsPort}`;
  }

  let paused = false;
  return {
    url,
    brokerUrl,
    certPem: tls.certPem,
    spkiHash: tls.spkiSha256Base64,
    identityPublicKey: identity.publicKeyHex,
    store,
    embedded,
    metricsUrl,
    metrics,
    health,
    async drain(timeoutMs: number) {
      if (!draining) {
        draining = true;
        log(`draining: no new requests; waiting up to ${Math.round(timeoutMs / 1000)} s for ${inFlight} in progress`, { level: 'warn', inFlight, timeoutMs });
      }
      const deadline = Date.now() + timeoutMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      // Only now do devices see this instance go offline: a device ends a request whose instance went
      // offline, so announcing it earlier would end the very requests the drain lets finish.
      await presence?.stop().catch(() => undefined);
      presence = undefined;
      if (inFlight > 0) log(`draining: ${inFlight} requests still in progress after ${Math.round(timeoutMs / 1000)} s; they end with the stop`, { level: 'warn', inFlight });
      else log('drained: no request in progress', { level: 'info' });
      return { drained: inFlight === 0, inFlight };
    },
    async pauseWorker() {
      if (paused) return;
      paused = true;
      await presence?.stop();
      presence = undefined;
      // The channel and its conversations stay: the broker queues their frames until resume.
      await transport.pause();
    },
    async resumeWorker() {
      if (!paused || draining) return;
      paused = false;
      // A pool member keeps its instance: its conversations live in that instance's inbox.
      if (!pool) instance = newInstance();
      transport.setWill(presenceWill(identity, instance, { retain: retainStatus }));
      await transport.resume();
      presence = await startPresence(transport, identity, instance, { heartbeatMs, retain: retainStatus, onError: () => undefined });
    },
    async stop() {
      clearInterval(revocationTimer);
      draining = true;
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
      }
      await desk.stop().catch(() => undefined);
      await presence?.stop().catch(() => undefined);
      await channel.close().catch(() => undefined);
      await transport.close().catch(() => undefined);
      await embedded?.close();
      if (httpsServer) await new Promise<void>((resolve) => httpsServer!.close(() => resolve()));
      identity.destroy();
      await store.close();
    },
  };
}

