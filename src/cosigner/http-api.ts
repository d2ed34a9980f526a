/**
 * The co-signer's HTTPS API, served on the same TLS port as the broker's WebSocket:
 * challenges, enrollment (proof of possession of the identity key, rate-limited, optionally
 * behind an enrollment code), approver enrollment (the same proof plus a one-time code from the
 * operator) and broker-credential renewal for devices and approvers.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  APPROVER_ENROLL_PATH,
  CHALLENGE_PATH,
  ENROLL_PATH,
  HEALTH_PATH,
  TOKEN_PATH,
  approverEnrollProofMessage,
  enrollProofMessage,
  restoreEnrollContext,
  tokenProofMessage,
  type ApproverEnrollRequest,
  type ApproverEnrollResponse,
  type BrokerCredentials,
  type ChallengeResponse,
  type EnrollRequest,
  type EnrollResponse,
  type TokenRequest,
} from '../channel/enrollment.js';
import { deviceIdFromPublicKey, parsePublicKey, verifyIdentitySignature } from '../channel/identity.js';
import { approverClientId, deviceClientId } from '../channel/topics.js';
import { BACKUP_PARTY } from '../channel/cosigner-protocol.js';
import { hexToBytes } from '../mpc/bytes.js';
import { keyPublicInfo } from '../mpc/dkg.js';
import { importKeyShare } from '../mpc/keyshare.js';
import { verifySharePossession } from '../mpc/share-proof.js';
import { ConflictError } from './store/errors.js';
import type { ApproverRecord, CosignerStore } from './store/types.js';
import type { CosignerLog } from './ops/log.js';

/** Who broker credentials are for: a device of a wallet, or an approver (no wallet). */
export type CredentialHolder = { deviceId: string; walletId: string } | { approverId: string };

/** Issues broker credentials: a signed token for the embedded broker, a provisioned password on Mosquitto. */
export interface CredentialIssuer {
  /** `expiresAt` in unix milliseconds. */
  issue(holder: CredentialHolder): Promise<{ token: string; expiresAt: number }>;
}

export interface HttpApiOptions {
  store: CosignerStore;
  credentials: CredentialIssuer;
  brokerUrl: string;
  cosignerIdentity: string;
  brokerCaPem?: string;
  /** When set, device enrollment needs this code. (Approvers always need their own one-time code.) */
  enrollmentCode?: string;
  /** Enrollments allowed per client address per window. Default 20 per 10 minutes. */
  enrollLimit?: { limit: number; windowMs: number };
  now?: () => number;
  log?: CosignerLog;
  /** What GET /v1/health answers (status and body); without it, 200 { ok: true }. */
  health?: () => Promise<{ httpStatus: number; body: unknown }>;
}

const CHALLENGE_TTL_MS = 120_000;
const MAX_CHALLENGES = 10_000;
const MAX_BODY_BYTES = 16 * 1024;

function identityKeyOf(value: unknown): Uint8Array {
  try {
    return parsePublicKey(String(value));
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'identityPublicKey must be a compressed secp256k1 key in hex.');
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export function createHttpApi(options: HttpApiOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const now = options.now ?? Date.now;
  const challenges = new Map<string, number>();
  const enrollLimit = options.enrollLimit ?? { limit: 20, windowMs: 10 * 60_000 };
  const codeDigest = options.enrollmentCode === undefined ? undefined : createHash('sha256').update(options.enrollmentCode).digest();

  const limit = async (bucket: string, request: IncomingMessage, rule: { limit: number; windowMs: number }) => {
    const decision = await options.store.takeRateLimit({ bucket, key: request.socket.remoteAddress ?? 'unknown', ...rule });
    if (!decision.allowed) throw new HttpError(429, 'RATE_LIMITED', `Too many requests; try again in ${Math.ceil(decision.retryAfterMs / 1000)} s.`, decision.retryAfterMs);
  };

  /** A challenge is good once, until its expiry. */
  const takeChallenge = (challenge: unknown) => {
    if (typeof challenge !== 'string' || !/^[0-9a-f]{64}$/.test(challenge)) throw new HttpError(400, 'BAD_REQUEST', 'challenge must be 64 hex characters.');
    const expiresAt = challenges.get(challenge);
    challenges.delete(challenge);
    if (expiresAt === undefined || expiresAt < now()) throw new HttpError(401, 'BAD_CHALLENGE', 'The challenge is unknown, used or expired; ask for a new one.');
  };

  const credentialsFor = async (deviceId: string, walletId: string): Promise<BrokerCredentials> => {
    const { token, expiresAt } = await options.credentials.issue({ deviceId, walletId });
    return { username: deviceId, token, tokenExpiresAt: expiresAt, clientId: deviceClientId(deviceId) };
  };

  const approverCredentialsFor = async (approverId: string): Promise<BrokerCredentials> => {
    const { token, expiresAt } = await options.credentials.issue({ approverId });
    return { username: approverId, token, tokenExpiresAt: expiresAt, clientId: approverClientId(approverId) };
  };

  const routes: Record<string, (request: IncomingMessage, body: Record<string, unknown>) => Promise<unknown>> = {
    [HEALTH_PATH]: async () => ({ ok: true }),

    [CHALLENGE_PATH]: async (request): Promise<ChallengeResponse> => {
      // Each enrollment takes one challenge: an operator who allows more enrollments allows their challenges too.
      await limit('challenge', request, { limit: Math.max(120, enrollLimit.limit), windowMs: 60_000 });
      for (const [challenge, expiresAt] of challenges) if (expiresAt < now() || challenges.size >= MAX_CHALLENGES) challenges.delete(challenge);
      const challenge = randomBytes(32).toString('hex');
      const expiresAt = now() + CHALLENGE_TTL_MS;
      challenges.set(challenge, expiresAt);
      return { challenge, expiresAt };
    },

    [ENROLL_PATH]: async (request, body): Promise<EnrollResponse> => {
      await limit('enroll', request, enrollLimit);
      const input = body as Partial<EnrollRequest>;
      if (codeDigest) {
        const given = createHash('sha256').update(typeof input.enrollmentCode === 'string' ? input.enrollmentCode : '').digest();
        if (!timingSafeEqual(given, codeDigest)) throw new HttpError(403, 'BAD_ENROLLMENT_CODE', 'The enrollment code is wrong.');
      }
      takeChallenge(input.challenge);
      const publicKey = identityKeyOf(input.identityPublicKey);
      const parties = input.parties;
      const is2of2 = Array.isArray(parties) && parties.length === 2 && parties[0] === 1 && parties[1] === 2;
      const is2of3 = Array.isArray(parties) && parties.length === 3 && parties[0] === 1 && parties[1] === 2 && parties[2] === 3;
      if (!is2of2 && !is2of3) throw new HttpError(400, 'BAD_REQUEST', 'parties must be [1, 2] (2-of-2) or [1, 2, 3] (2-of-3).');
      const identityPublicKey = String(input.identityPublicKey).toLowerCase();
      const restore = parseRestore(input.restore);
      if (!verifySignature(publicKey, 'enroll', enrollProofMessage(input.challenge!, identityPublicKey, parties, restore), input.signature)) {
        throw new HttpError(401, 'BAD_PROOF', 'The proof of possession of the identity key does not verify.');
      }
      const deviceId = deviceIdFromPublicKey(publicKey);
      if (await options.store.getDeviceByIdentityKey(identityPublicKey)) throw new HttpError(409, 'ALREADY_ENROLLED', 'This identity key is already enrolled; use a new key per wallet.');
      let walletId: string;
      if (restore) {
        const wallet = await options.store.getWallet(restore.walletId);
        if (!wallet || wallet.status === 'pending' || wallet.address?.toLowerCase() !== restore.address.toLowerCase()) {
          throw new HttpError(404, 'UNKNOWN_WALLET', 'The co-signer has no wallet with this id and address: check that the recovery kit belongs to this co-signer.');
        }
        if (wallet.parties.length !== parties.length) throw new HttpError(400, 'BAD_REQUEST', `This wallet has parties ${wallet.parties.join(',')}.`);
        await assertBackupProven(options.store, wallet.walletId, restore, input.challenge!, identityPublicKey);
        walletId = wallet.walletId;
        await options.store.createRestoringDevice({ deviceId, identityPublicKey, walletId });
        options.log?.(`enrolled device ${deviceId} to restore wallet ${walletId}`);
      } else {
        walletId = randomBytes(16).toString('hex');
        await options.store.enroll({ deviceId, identityPublicKey, walletId, threshold: 2, parties: [...parties] });
        options.log?.(`enrolled device ${deviceId} for ${is2of3 ? '2-of-3' : '2-of-2'} wallet ${walletId}`);
      }
      return {
        deviceId,
        walletId,
        brokerUrl: options.brokerUrl,
        cosignerIdentity: options.cosignerIdentity,
        ...(options.brokerCaPem ? { brokerCaPem: options.brokerCaPem } : {}),
        ...(await credentialsFor(deviceId, walletId)),
      };
    },

    [APPROVER_ENROLL_PATH]: async (request, body): Promise<ApproverEnrollResponse> => {
      await limit('approver-enroll', request, enrollLimit);
      const input = body as Partial<ApproverEnrollRequest>;
      if (typeof input.enrollmentCode !== 'string' || input.enrollmentCode.length === 0 || input.enrollmentCode.length > 256) {
        throw new HttpError(400, 'BAD_REQUEST', 'enrollmentCode must be the one-time code the operator gave you (npm run cosigner -- approvers invite <name>).');
      }
      takeChallenge(input.challenge);
      const publicKey = identityKeyOf(input.identityPublicKey);
      const identityPublicKey = String(input.identityPublicKey).toLowerCase();
      // checked before the code is taken, so a bad proof never uses a code up
      if (!verifySignature(publicKey, 'enroll', approverEnrollProofMessage(input.challenge!, identityPublicKey), input.signature)) {
        throw new HttpError(401, 'BAD_PROOF', 'The proof of possession of the identity key does not verify.');
      }
      const approverId = deviceIdFromPublicKey(publicKey);
      const codeDigest = createHash('sha256').update(input.enrollmentCode).digest('hex');
      let approver: ApproverRecord;
      try {
        approver = await options.store.approvals.enrollApprover({ codeDigest, approverId, identityPublicKey });
      } catch (error) {
        if (error instanceof ConflictError) throw new HttpError(409, 'APPROVER_ENROLL_REFUSED', error.shortMessage);
        throw error;
      }
      options.log?.(`enrolled approver ${approverId} (${approver.name})`);
      let credentials: BrokerCredentials;
      try {
        credentials = await approverCredentialsFor(approverId);
      } catch (cause) {
        options.log?.(`http ${APPROVER_ENROLL_PATH}: broker credentials for approver ${approverId}: ${(cause as Error).message.split('\n')[0]}`);
        // the code is spent and the approver enrolled: it gets its credentials by renewal, with its own key
        throw new HttpError(503, 'CREDENTIALS_UNAVAILABLE', `You are enrolled as approver ${approverId}, but the broker credentials could not be issued now; ask for them at ${TOKEN_PATH} with this id.`);
      }
      return {
        approverId,
        name: approver.name,
        brokerUrl: options.brokerUrl,
        cosignerIdentity: options.cosignerIdentity,
        ...(options.brokerCaPem ? { brokerCaPem: options.brokerCaPem } : {}),
        ...credentials,
      };
    },

    [TOKEN_PATH]: async (request, body) => {
      await limit('token', request, { limit: 60, windowMs: 60_000 });
      const input = body as Partial<TokenRequest>;
      takeChallenge(input.challenge);
      const id = typeof input.deviceId === 'string' ? input.deviceId : undefined;
      const device = id === undefined ? undefined : await options.store.getDevice(id);
      if (!device) {
        // an approver renews here too, under its approver id
        const approver = id === undefined ? undefined : await options.store.approvals.getApprover(id);
        if (!approver) throw new HttpError(404, 'UNKNOWN_DEVICE', 'No device or approver is enrolled with this id.');
        if (approver.status !== 'active') throw new HttpError(403, 'APPROVER_REMOVED', 'This approver was removed by the operator; ask them for a new invitation.');
        if (!verifySignature(hexToBytes(approver.identityPublicKey), 'token', tokenProofMessage(input.challenge!, approver.approverId), input.signature)) {
          throw new HttpError(401, 'BAD_PROOF', 'The proof of possession of the identity key does not verify.');
        }
        return approverCredentialsFor(approver.approverId);
      }
      if (device.status === 'revoked') throw new HttpError(403, 'DEVICE_REVOKED', `This device was revoked (${device.revokedReason ?? 'by the operator'}); it can no longer sign for its wallet. Restore the wallet from its recovery kit on a device you hold.`);
      if (!verifySignature(hexToBytes(device.identityPublicKey), 'token', tokenProofMessage(input.challenge!, device.deviceId), input.signature)) {
        throw new HttpError(401, 'BAD_PROOF', 'The proof of possession of the identity key does not verify.');
      }
      return credentialsFor(device.deviceId, device.walletId);
    },
  };

  return (request, response) => {
    const url = new URL(request.url ?? '/', 'https://cosigner');
    const route = routes[url.pathname];
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
    };
    if (url.pathname === HEALTH_PATH && options.health) {
      options.health().then(
        ({ httpStatus, body }) => reply(httpStatus, body),
        () => reply(503, { status: 'degraded', ok: false }),
      );
      return;
    }
    if (!route) return reply(404, { error: { code: 'NOT_FOUND', message: `No ${url.pathname} here.` } });
    if (request.method !== 'POST' && url.pathname !== HEALTH_PATH) return reply(405, { error: { code: 'METHOD', message: 'Use POST.' } });
    readJson(request)
      .then((body) => route(request, body))
      .then((result) => reply(200, result))
      .catch((error: unknown) => {
        if (error instanceof HttpError) {
          const headers: Record<string, string> = error.retryAfterMs ? { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) } : {};
          return reply(error.status, { error: { code: error.code, message: error.message, ...(error.retryAfterMs ? { retryAfterMs: error.retryAfterMs } : {}) } }, headers);
        }
        options.log?.(`http ${url.pathname}: ${(error as Error).message.split('\n')[0]}`);
        reply(500, { error: { code: 'INTERNAL', message: 'The co-signer failed to answer; try again.' } });
      });
  };
}

function parseRestore(value: unknown): EnrollRequest['restore'] {
  if (value === undefined) return undefined;
  const restore = value as Partial<NonNullable<EnrollRequest['restore']>> | null;
  const valid =
    restore &&
    typeof restore.walletId === 'string' &&
    /^[0-9a-f]{32}$/.test(restore.walletId) &&
    typeof restore.address === 'string' &&
    /^0x[0-9a-fA-F]{40}$/.test(restore.address) &&
    Number.isSafeInteger(restore.generation) &&
    restore.generation! >= 0 &&
    typeof restore.backupProof === 'string' &&
    /^(?:[0-9a-f]{2}){1,256}$/.test(restore.backupProof);
  if (!valid) {
    throw new HttpError(400, 'BAD_REQUEST', 'restore must be { walletId: 32 hex characters, address: 0x and 40 hex characters, generation, backupProof: hex }.');
  }
  return { walletId: restore.walletId!, address: restore.address!, generation: restore.generation!, backupProof: restore.backupProof! };
}

/**
 * Only a holder of the wallet's current backup share may enroll to restore it: otherwise anyone who
 * read a kit's plaintext (wallet id, address) could enroll, and so cancel a genuine restore under
 * way. A refused attempt is audited; nothing else changes.
 */
async function assertBackupProven(store: CosignerStore, walletId: string, restore: NonNullable<EnrollRequest['restore']>, challenge: string, identityPublicKey: string): Promise<void> {
  const key = keyPublicInfo(importKeyShare(await store.loadShare(walletId, 'refresh')));
  let refusal: HttpError | undefined;
  if (restore.generation !== key.generation) {
    refusal = new HttpError(
      409,
      'STALE_SHARE',
      restore.generation < key.generation
        ? 'This recovery kit is from before a later refresh or restore of the wallet: use the kit issued with the latest one.'
        : 'This recovery kit is from a refresh or restore that was never completed: use the kit from before it (the headless client keeps it as <file>.previous until the commit).',
    );
  } else if (!verifySharePossession(key, BACKUP_PARTY, hexToBytes(restore.backupProof), restoreEnrollContext(challenge, identityPublicKey, walletId))) {
    refusal = new HttpError(403, 'BAD_BACKUP_PROOF', 'This recovery kit does not hold the backup share of this wallet; nothing was enrolled. Use the kit saved for this wallet.');
  }
  if (!refusal) return;
  await store.audit.append({ kind: 'refuse', walletId, summary: { protocol: 'restore-enroll', code: refusal.code, generation: restore.generation } });
  throw refusal;
}

function verifySignature(publicKey: Uint8Array, domain: 'enroll' | 'token', message: Uint8Array, signature: unknown): boolean {
  if (typeof signature !== 'string' || !/^[0-9a-f]{128}$/.test(signature)) return false;
  return verifyIdentitySignature(publicKey, domain, message, hexToBytes(signature));
}

function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'TOO_LARGE', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (size === 0) return resolve({});
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        resolve(parsed as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'BAD_REQUEST', 'The body must be a JSON object.'));
      }
    });
    request.on('error', reject);
  });
}
