/**
 * The HTTPS API's approver enrollment and credential renewal, on a real store, with a credential
 * issuer that records what it was asked for. Served over plain HTTP here: TLS is the listener's
 * business (embedded.ts, service.ts), not the handler's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  APPROVER_ENROLL_PATH,
  CHALLENGE_PATH,
  ENROLL_PATH,
  TOKEN_PATH,
  approverEnrollProofMessage,
  enrollProofMessage,
  tokenProofMessage,
  type ApproverEnrollRequest,
  type ApproverEnrollResponse,
  type ChallengeResponse,
  type EnrollResponse,
  type HttpErrorBody,
  type TokenResponse,
} from '../channel/enrollment.js';
import { Identity } from '../channel/identity.js';
import { approverClientId, deviceClientId } from '../channel/topics.js';
import { bytesToHex } from '../mpc/bytes.js';
import { createHttpApi, type CredentialHolder, type CredentialIssuer } from './http-api.js';
import { databasePath, masterKeyFromBytes, openSqliteStore, type SqliteCosignerStore } from './store/index.js';

const COSIGNER_IDENTITY = `02${'ab'.repeat(32)}`;
const BROKER_URL = 'wss://broker.test/mqtt';

let dir: string;
let store: SqliteCosignerStore;
let server: Server;
let base: string;
let now: number;
let issued: CredentialHolder[];
let failIssuing: boolean;
const identities: Identity[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-http-api-'));
  now = Date.UTC(2026, 10, 1, 12, 0, 0);
  store = openSqliteStore({ path: databasePath(dir), masterKey: masterKeyFromBytes(randomBytes(32), 'env'), now: () => now });
  issued = [];
  failIssuing = false;
  const credentials: CredentialIssuer = {
    async issue(holder) {
      if (failIssuing) throw new Error('the broker is unreachable');
      issued.push(holder);
      return { token: `token-${issued.length}`, expiresAt: now + 3_600_000 };
    },
  };
  const handler = createHttpApi({ store, credentials, brokerUrl: BROKER_URL, cosignerIdentity: COSIGNER_IDENTITY, brokerCaPem: 'CA PEM', now: () => now, enrollLimit: { limit: 5, windowMs: 60_000 } });
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const identity of identities.splice(0)) identity.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as T };
}

async function challenge(): Promise<string> {
  return (await post<ChallengeResponse>(CHALLENGE_PATH, {})).body.challenge;
}

function newIdentity(): Identity {
  const identity = Identity.generate();
  identities.push(identity);
  return identity;
}

/** An invitation as `approvers invite` makes it: the store keeps only the code's SHA-256. */
function invite(name: string, expiresInMs = 3_600_000): string {
  const code = randomBytes(12).toString('base64url');
  store.approvals.inviteApprover({ name, codeDigest: createHash('sha256').update(code).digest('hex'), expiresAt: now + expiresInMs });
  return code;
}

async function enrollRequest(identity: Identity, code: string, overrides: Partial<ApproverEnrollRequest> = {}): Promise<ApproverEnrollRequest> {
  const fresh = overrides.challenge ?? (await challenge());
  return {
    identityPublicKey: identity.publicKeyHex,
    challenge: fresh,
    signature: bytesToHex(identity.sign('enroll', approverEnrollProofMessage(fresh, identity.publicKeyHex))),
    enrollmentCode: code,
    ...overrides,
  };
}

async function enroll(identity: Identity, code: string, overrides: Partial<ApproverEnrollRequest> = {}) {
  return post<ApproverEnrollResponse & HttpErrorBody>(APPROVER_ENROLL_PATH, await enrollRequest(identity, code, overrides));
}

async function renew(identity: Identity, id = identity.deviceId) {
  const fresh = await challenge();
  return post<TokenResponse & HttpErrorBody>(TOKEN_PATH, { deviceId: id, challenge: fresh, signature: bytesToHex(identity.sign('token', tokenProofMessage(fresh, id))) });
}

describe(`POST ${APPROVER_ENROLL_PATH}`, () => {
  it('enrolls an approver with a good code: its id, name, broker credentials on its own client id, and what it pins', async () => {
    const identity = newIdentity();
    const { status, body } = await enroll(identity, invite('alice'));
    expect(status).toBe(200);
    expect(body).toEqual({
      approverId: identity.deviceId,
      name: 'alice',
      brokerUrl: BROKER_URL,
      cosignerIdentity: COSIGNER_IDENTITY,
      brokerCaPem: 'CA PEM',
      username: identity.deviceId,
      token: 'token-1',
      tokenExpiresAt: now + 3_600_000,
      clientId: approverClientId(identity.deviceId),
    });
    expect(issued).toEqual([{ approverId: identity.deviceId }]);
    expect(await store.approvals.getApprover(identity.deviceId)).toMatchObject({ name: 'alice', identityPublicKey: identity.publicKeyHex, status: 'active' });
  });

  it('refuses a code that was used already (409), and a second key gets nothing with it', async () => {
    const code = invite('bob');
    expect((await enroll(newIdentity(), code)).status).toBe(200);
    const second = newIdentity();
    const { status, body } = await enroll(second, code);
    expect(status).toBe(409);
    expect(body.error.code).toBe('APPROVER_ENROLL_REFUSED');
    expect(body.error.message).toMatch(/unknown, used or expired/);
    expect(await store.approvals.getApprover(second.deviceId)).toBeUndefined();
    expect(issued).toHaveLength(1);
  });

  it('refuses an expired code (409) and an unknown one (409)', async () => {
    const code = invite('carol', 60_000);
    now += 61_000;
    const expired = await enroll(newIdentity(), code);
    expect(expired.status).toBe(409);
    expect(expired.body.error.message).toMatch(/unknown, used or expired/);
    const unknown = await enroll(newIdentity(), 'never-issued');
    expect(unknown.status).toBe(409);
    expect(issued).toEqual([]);
  });

  it('refuses the same key enrolling twice, with its own message', async () => {
    const identity = newIdentity();
    expect((await enroll(identity, invite('dave'))).status).toBe(200);
    const again = await enroll(identity, invite('erin'));
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already enrolled as an approver/);
  });

  it('refuses a bad signature (401) without using the code up', async () => {
    const identity = newIdentity();
    const code = invite('frank');
    const fresh = await challenge();
    // signed by another key, and a device-enrollment proof by the right key: neither is an approver proof
    const forged = await enroll(identity, code, { challenge: fresh, signature: bytesToHex(newIdentity().sign('enroll', approverEnrollProofMessage(fresh, identity.publicKeyHex))) });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('BAD_PROOF');
    const fresh2 = await challenge();
    const deviceProof = await enroll(identity, code, { challenge: fresh2, signature: bytesToHex(identity.sign('enroll', enrollProofMessage(fresh2, identity.publicKeyHex, [1, 2]))) });
    expect(deviceProof.status).toBe(401);
    const fresh3 = await challenge();
    const tokenDomain = await enroll(identity, code, { challenge: fresh3, signature: bytesToHex(identity.sign('token', approverEnrollProofMessage(fresh3, identity.publicKeyHex))) });
    expect(tokenDomain.status).toBe(401);
    expect((await enroll(identity, code, { signature: 'zz' })).status).toBe(401);
    // the code still works for the real holder of the key
    expect((await enroll(identity, code)).status).toBe(200);
  });

  it('refuses a wrong, reused or expired challenge (401)', async () => {
    const identity = newIdentity();
    const code = invite('grace');
    const made = `${'0'.repeat(63)}1`;
    const never = await enroll(identity, code, { challenge: made, signature: bytesToHex(identity.sign('enroll', approverEnrollProofMessage(made, identity.publicKeyHex))) });
    expect(never.status).toBe(401);
    expect(never.body.error.code).toBe('BAD_CHALLENGE');
    // a proof over one challenge presented with another
    const signedFor = await challenge();
    const presented = await challenge();
    const mismatched = await enroll(identity, code, { challenge: presented, signature: bytesToHex(identity.sign('enroll', approverEnrollProofMessage(signedFor, identity.publicKeyHex))) });
    expect(mismatched.status).toBe(401);
    expect(mismatched.body.error.code).toBe('BAD_PROOF');
    // a challenge is good once
    const once = await enrollRequest(identity, code);
    expect((await post(APPROVER_ENROLL_PATH, once)).status).toBe(200);
    const replay = await post<HttpErrorBody>(APPROVER_ENROLL_PATH, { ...once, enrollmentCode: invite('heidi') });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('BAD_CHALLENGE');
    // and only until it expires
    const stale = await enrollRequest(newIdentity(), invite('ivan'));
    now += 121_000;
    expect((await post<HttpErrorBody>(APPROVER_ENROLL_PATH, stale)).body.error.code).toBe('BAD_CHALLENGE');
  });

  it('refuses malformed requests (400)', async () => {
    const identity = newIdentity();
    expect((await post(APPROVER_ENROLL_PATH, { ...(await enrollRequest(identity, 'x')), enrollmentCode: undefined })).status).toBe(400);
    expect((await post(APPROVER_ENROLL_PATH, { ...(await enrollRequest(identity, 'x')), enrollmentCode: 42 })).status).toBe(400);
    expect((await post(APPROVER_ENROLL_PATH, { ...(await enrollRequest(identity, 'x')), identityPublicKey: 'not-a-key' })).status).toBe(400);
    expect((await post(APPROVER_ENROLL_PATH, { ...(await enrollRequest(identity, 'x')), challenge: 'short' })).status).toBe(400);
  });

  it('refuses a key that belongs to a wallet device (409)', async () => {
    const identity = newIdentity();
    const fresh = await challenge();
    const device = await post<EnrollResponse>(ENROLL_PATH, {
      identityPublicKey: identity.publicKeyHex,
      challenge: fresh,
      signature: bytesToHex(identity.sign('enroll', enrollProofMessage(fresh, identity.publicKeyHex, [1, 2]))),
      parties: [1, 2],
    });
    expect(device.status).toBe(200);
    const approver = await enroll(identity, invite('judy'));
    expect(approver.status).toBe(409);
    expect(approver.body.error.message).toMatch(/belongs to a wallet device/);
  });

  it('is rate-limited per client address', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) statuses.push((await enroll(newIdentity(), 'wrong-code')).status);
    expect(statuses).toEqual([409, 409, 409, 409, 409, 429]);
  });

  it('tells an approver whose credentials could not be issued that it is enrolled and can renew (503)', async () => {
    const identity = newIdentity();
    failIssuing = true;
    const { status, body } = await enroll(identity, invite('ken'));
    expect(status).toBe(503);
    expect(body.error.code).toBe('CREDENTIALS_UNAVAILABLE');
    expect(body.error.message).toContain(TOKEN_PATH);
    failIssuing = false;
    const renewed = await renew(identity);
    expect(renewed.status).toBe(200);
    expect(renewed.body.clientId).toBe(approverClientId(identity.deviceId));
  });
});

describe(`POST ${TOKEN_PATH} for approvers`, () => {
  it("renews an approver's credentials with the same proof a device gives, on the approver's client id", async () => {
    const identity = newIdentity();
    expect((await enroll(identity, invite('leo'))).status).toBe(200);
    const { status, body } = await renew(identity);
    expect(status).toBe(200);
    expect(body).toEqual({ username: identity.deviceId, token: 'token-2', tokenExpiresAt: now + 3_600_000, clientId: approverClientId(identity.deviceId) });
    expect(issued.at(-1)).toEqual({ approverId: identity.deviceId });
  });

  it("refuses a proof by another key (401) and a removed approver (403)", async () => {
    const identity = newIdentity();
    expect((await enroll(identity, invite('mia'))).status).toBe(200);
    const fresh = await challenge();
    const forged = await post<HttpErrorBody>(TOKEN_PATH, { deviceId: identity.deviceId, challenge: fresh, signature: bytesToHex(newIdentity().sign('token', tokenProofMessage(fresh, identity.deviceId))) });
    expect(forged.status).toBe(401);
    store.approvals.removeApprover(identity.deviceId, 'test');
    const removed = await renew(identity);
    expect(removed.status).toBe(403);
    expect(removed.body.error.code).toBe('APPROVER_REMOVED');
    expect(issued).toHaveLength(1);
  });

  it('answers 404 for an id that is neither a device nor an approver', async () => {
    const stranger = await renew(newIdentity());
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('UNKNOWN_DEVICE');
  });

  it('still renews a device, on the device client id and for its wallet', async () => {
    const identity = newIdentity();
    const fresh = await challenge();
    const enrolled = await post<EnrollResponse>(ENROLL_PATH, {
      identityPublicKey: identity.publicKeyHex,
      challenge: fresh,
      signature: bytesToHex(identity.sign('enroll', enrollProofMessage(fresh, identity.publicKeyHex, [1, 2]))),
      parties: [1, 2],
    });
    expect(enrolled.status).toBe(200);
    const { status, body } = await renew(identity);
    expect(status).toBe(200);
    expect(body.clientId).toBe(deviceClientId(identity.deviceId));
    expect(issued.at(-1)).toEqual({ deviceId: identity.deviceId, walletId: enrolled.body.walletId });
  });
});
