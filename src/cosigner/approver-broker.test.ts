/**
 * Approvers through the running co-signer, on both kinds of broker: enrollment over HTTPS with a
 * one-time code, a broker login on the approver's own client id with only its mailbox, renewal,
 * and removal by the operator closing the live connection and refusing the next login (the
 * revocation sweep: embedded, the broker's approverAllowed check; Mosquitto, deleting the client).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVER_ENROLL_PATH,
  CHALLENGE_PATH,
  TOKEN_PATH,
  approverEnrollProofMessage,
  tokenProofMessage,
  type ApproverEnrollResponse,
  type ChallengeResponse,
  type TokenResponse,
} from '../channel/enrollment.js';
import { Identity } from '../channel/identity.js';
import { COSIGNER_STATUS_TOPIC, approverClientId, inboxTopic, mailInTopic, mailOutTopic } from '../channel/topics.js';
import { postJson } from '../client/http.js';
import { bytesToHex } from '../mpc/bytes.js';
import { connectObserver, type Observer } from './broker/access-test-kit.js';
import { startMosquittoHarness, type MosquittoHarness } from './broker/mosquitto-harness.js';
import { startCosigner, type CosignerConfig, type RunningCosigner } from './service.js';

let dir: string;
let harness: MosquittoHarness;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-approver-broker-'));
  harness = await startMosquittoHarness();
});

afterAll(async () => {
  await harness?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const modes: { name: string; config: () => Omit<CosignerConfig, 'dataDir'>; brokerCa: (cosigner: RunningCosigner) => string }[] = [
  { name: 'embedded broker', config: () => ({}), brokerCa: (cosigner) => cosigner.certPem },
  {
    name: 'Mosquitto',
    config: () => ({
      heartbeatMs: 1_000,
      external: { url: harness.mtlsUrl, caPem: harness.caPem, certPem: harness.cosigner.certPem, keyPem: harness.cosigner.keyPem, deviceUrl: harness.wssUrl, deviceCaPem: harness.caPem },
    }),
    brokerCa: () => harness.caPem,
  },
];

describe.each(modes)('approvers on the $name', ({ name, config, brokerCa }) => {
  let cosigner: RunningCosigner;
  const opened: Observer[] = [];

  beforeAll(async () => {
    cosigner = await startCosigner({ dataDir: join(dir, name.replace(/\W/g, '-')), port: 0, env: { TANDEM_MASTER_KEY: '5a'.repeat(32) }, log: () => undefined, ...config() });
  });

  afterAll(async () => {
    await Promise.all(opened.map((observer) => observer.end()));
    await cosigner?.stop();
  });

  const post = <T>(path: string, body: unknown) => postJson<T>(cosigner.url, path, body, { caPem: cosigner.certPem });

  async function enroll(identity: Identity, name: string): Promise<ApproverEnrollResponse> {
    const code = randomBytes(12).toString('base64url');
    await cosigner.store.approvals.inviteApprover({ name, codeDigest: createHash('sha256').update(code).digest('hex'), expiresAt: Date.now() + 600_000 });
    const { challenge } = await post<ChallengeResponse>(CHALLENGE_PATH, {});
    const signature = bytesToHex(identity.sign('enroll', approverEnrollProofMessage(challenge, identity.publicKeyHex)));
    return post<ApproverEnrollResponse>(APPROVER_ENROLL_PATH, { identityPublicKey: identity.publicKeyHex, challenge, signature, enrollmentCode: code });
  }

  async function login(credentials: { username: string; token: string; clientId: string }): Promise<Observer> {
    const observer = await connectObserver(cosigner.brokerUrl, { ca: brokerCa(cosigner), clientId: credentials.clientId, username: credentials.username, password: credentials.token });
    opened.push(observer);
    return observer;
  }

  it('enrolls an approver whose credentials reach only its own mailbox and the status', async () => {
    const identity = Identity.generate();
    const other = Identity.generate();
    try {
      const enrolled = await enroll(identity, 'alice');
      expect(enrolled).toMatchObject({ approverId: identity.deviceId, name: 'alice', username: identity.deviceId, clientId: approverClientId(identity.deviceId), brokerUrl: cosigner.brokerUrl });
      const approver = await login(enrolled);
      expect(await approver.subscribe(mailInTopic(identity.deviceId))).toBe(1);
      expect(await approver.subscribe(COSIGNER_STATUS_TOPIC)).toBe(1);
      expect(await approver.subscribe(mailInTopic(other.deviceId))).toBe(128);
      expect(await approver.subscribe(inboxTopic('0'.repeat(32), 'device'))).toBe(128);
      expect(await approver.publish(mailOutTopic(identity.deviceId), 'hello')).toBe('acknowledged');
    } finally {
      identity.destroy();
      other.destroy();
    }
  });

  it('renews an approver token at the token path, and the new one logs in', async () => {
    const identity = Identity.generate();
    try {
      await enroll(identity, 'bob');
      const { challenge } = await post<ChallengeResponse>(CHALLENGE_PATH, {});
      const renewed = await post<TokenResponse>(TOKEN_PATH, { deviceId: identity.deviceId, challenge, signature: bytesToHex(identity.sign('token', tokenProofMessage(challenge, identity.deviceId))) });
      expect(renewed.clientId).toBe(approverClientId(identity.deviceId));
      const approver = await login(renewed);
      expect(await approver.subscribe(mailInTopic(identity.deviceId))).toBe(1);
    } finally {
      identity.destroy();
    }
  });

  it("closes a removed approver's connection and refuses its next login", async () => {
    const identity = Identity.generate();
    try {
      const enrolled = await enroll(identity, 'carol');
      const approver = await login(enrolled);
      await cosigner.store.approvals.removeApprover(identity.deviceId, 'test');
      await approver.disconnected(5_000);
      await expect(login(enrolled)).rejects.toMatchObject({ code: 5 });
    } finally {
      identity.destroy();
    }
  });
});
