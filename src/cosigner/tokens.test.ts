import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, SignJWT, generateKeyPair } from 'jose';
import { createPrivateKey } from 'node:crypto';
import { approverClientId, deviceClientId, mailInTopic, mailOutTopic } from '../channel/topics.js';
import { TokenError } from './broker/errors.js';
import { TOKEN_KEY_FILE, TokenIssuer } from './tokens.js';

const deviceId = 'a'.repeat(32);
const walletId = 'b'.repeat(32);
const approverId = 'c'.repeat(32);
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-tokens-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('TokenIssuer', () => {
  it('creates an owner-only P-256 key on first run and reuses it afterwards', async () => {
    const dir = await tempDir();
    const first = await TokenIssuer.open(dir);
    const path = join(dir, TOKEN_KEY_FILE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const keyBefore = await readFile(path, 'utf8');
    const second = await TokenIssuer.open(dir);
    expect(await readFile(path, 'utf8')).toBe(keyBefore);
    expect(second.publicKeyPem()).toBe(first.publicKeyPem());
    const { token } = await first.issue({ deviceId, walletId });
    await expect(second.verify(token)).resolves.toMatchObject({ sub: deviceId, wallet: walletId });
  });

  it('issues ES256 tokens with issuer, audience, client-id binding, expiry and the EMQX acl claim', async () => {
    const issuer = await TokenIssuer.ephemeral({ now: () => 1_800_000_000_000 });
    const { token, expiresAt } = await issuer.issue({ deviceId, walletId, ttlSeconds: 600 });
    expect(decodeProtectedHeader(token).alg).toBe('ES256');
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: 'tandem-cosigner',
      aud: 'tandem-broker',
      sub: deviceId,
      wallet: walletId,
      cid: deviceClientId(deviceId),
      iat: 1_800_000_000,
      exp: 1_800_000_600,
    });
    expect(expiresAt).toBe(1_800_000_600);
    expect(claims.acl).toContainEqual({ permission: 'allow', action: 'publish', topic: `eq tandem/v1/w/${walletId}/to/cosigner` });
  });

  it('refuses an expired token, within a small clock tolerance', async () => {
    let now = 1_800_000_000_000;
    const issuer = await TokenIssuer.ephemeral({ now: () => now });
    const { token } = await issuer.issue({ deviceId, walletId, ttlSeconds: 60 });
    now += 62_000;
    await expect(issuer.verify(token)).resolves.toBeTruthy();
    now += 10_000;
    await expect(issuer.verify(token)).rejects.toMatchObject({ name: 'TokenError', code: 'TOKEN_EXPIRED', reason: 'expired' });
  });

  it('refuses a token signed by another key', async () => {
    const ours = await TokenIssuer.ephemeral();
    const theirs = await TokenIssuer.ephemeral();
    const { token } = await theirs.issue({ deviceId, walletId });
    await expect(ours.verify(token)).rejects.toMatchObject({ code: 'TOKEN_INVALID', reason: 'bad-signature' });
  });

  it('pins the algorithm: an HS256 token is refused', async () => {
    const issuer = await TokenIssuer.ephemeral();
    const forged = await new SignJWT({ wallet: walletId, cid: deviceClientId(deviceId) })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('tandem-cosigner')
      .setAudience('tandem-broker')
      .setSubject(deviceId)
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('x')
      .sign(new TextEncoder().encode(issuer.publicKeyPem()));
    await expect(issuer.verify(forged)).rejects.toBeInstanceOf(TokenError);
  });

  it('refuses a token with the wrong audience or a client id of another device', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const issuer = await TokenIssuer.ephemeral();
    const wrongAudience = await new SignJWT({ wallet: walletId, cid: deviceClientId(deviceId) })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('tandem-cosigner')
      .setAudience('someone-else')
      .setSubject(deviceId)
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('x')
      .sign(privateKey);
    await expect(issuer.verify(wrongAudience)).rejects.toBeInstanceOf(TokenError);
    await expect(issuer.verify('not.a.jwt')).rejects.toMatchObject({ reason: 'malformed' });
  });

  it('refuses ids that are not 32 lowercase hex characters and unreasonable lifetimes', async () => {
    const issuer = await TokenIssuer.ephemeral();
    await expect(issuer.issue({ deviceId: 'A'.repeat(32), walletId })).rejects.toThrow(TypeError);
    await expect(issuer.issue({ deviceId, walletId: '#' })).rejects.toThrow(TypeError);
    await expect(issuer.issue({ deviceId, walletId, ttlSeconds: 0 })).rejects.toThrow(TypeError);
    await expect(issuer.issue({ deviceId, walletId, ttlSeconds: 8 * 24 * 3600 })).rejects.toThrow(TypeError);
  });
});

describe('TokenIssuer: approver tokens', () => {
  /** An issuer and a way to sign arbitrary claims with its own key: what a bug in issue() could produce. */
  async function issuerWithKey() {
    const pem = await TokenIssuer.newSigningKeyPem();
    const issuer = TokenIssuer.fromPem(pem);
    const sign = (claims: Record<string, unknown>, subject: string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('tandem-cosigner')
        .setAudience('tandem-broker')
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime('1h')
        .setJti('x')
        .sign(createPrivateKey(pem));
    return { issuer, sign };
  }

  it('issues approver tokens: kind approver, no wallet, the approver client id and an acl of its mailbox', async () => {
    const issuer = await TokenIssuer.ephemeral({ now: () => 1_800_000_000_000 });
    const { token, expiresAt } = await issuer.issueApprover({ approverId, ttlSeconds: 600 });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: 'tandem-cosigner', aud: 'tandem-broker', kind: 'approver', sub: approverId, cid: approverClientId(approverId), iat: 1_800_000_000, exp: 1_800_000_600 });
    expect(claims.wallet).toBeUndefined();
    expect(expiresAt).toBe(1_800_000_600);
    expect(claims.acl).toContainEqual({ permission: 'allow', action: 'publish', topic: `eq ${mailOutTopic(approverId)}` });
    expect(claims.acl).toContainEqual({ permission: 'allow', action: 'subscribe', topic: `eq ${mailInTopic(approverId)}` });
    expect(JSON.stringify(claims.acl)).not.toContain('/w/');
  });

  it('verifies both kinds, and tells them apart', async () => {
    const issuer = await TokenIssuer.ephemeral();
    const approverClaims = await issuer.verify((await issuer.issueApprover({ approverId })).token);
    expect(approverClaims).toMatchObject({ kind: 'approver', sub: approverId, cid: approverClientId(approverId) });
    const deviceClaims = await issuer.verify((await issuer.issue({ deviceId, walletId })).token);
    expect(deviceClaims.kind).toBeUndefined();
    expect(deviceClaims).toMatchObject({ sub: deviceId, wallet: walletId, cid: deviceClientId(deviceId) });
  });

  it("gives device tokens their mailbox in the EMQX claim, as before with their wallet's inboxes", async () => {
    const issuer = await TokenIssuer.ephemeral();
    const claims = decodeJwt((await issuer.issue({ deviceId, walletId })).token);
    expect(claims.kind).toBeUndefined();
    expect(claims.acl).toContainEqual({ permission: 'allow', action: 'subscribe', topic: `eq ${mailInTopic(deviceId)}` });
    expect(claims.acl).toContainEqual({ permission: 'allow', action: 'publish', topic: `eq ${mailOutTopic(deviceId)}` });
  });

  it('refuses approver tokens bound to a device client id or naming a wallet, device tokens bound to an approver client id, and unknown kinds', async () => {
    const { issuer, sign } = await issuerWithKey();
    await expect(issuer.verify(await sign({ kind: 'approver', cid: approverClientId(approverId) }, approverId))).resolves.toMatchObject({ kind: 'approver' });
    await expect(issuer.verify(await sign({ kind: 'approver', cid: deviceClientId(approverId) }, approverId))).rejects.toMatchObject({ reason: 'wrong-claims' });
    await expect(issuer.verify(await sign({ kind: 'approver', cid: approverClientId(approverId), wallet: walletId }, approverId))).rejects.toMatchObject({ reason: 'wrong-claims' });
    await expect(issuer.verify(await sign({ kind: 'approver', cid: approverClientId(approverId) }, 'A'.repeat(32)))).rejects.toMatchObject({ reason: 'wrong-claims' });
    await expect(issuer.verify(await sign({ wallet: walletId, cid: approverClientId(deviceId) }, deviceId))).rejects.toMatchObject({ reason: 'wrong-claims' });
    await expect(issuer.verify(await sign({ kind: 'device', wallet: walletId, cid: deviceClientId(deviceId) }, deviceId))).rejects.toMatchObject({ reason: 'wrong-claims' });
    await expect(issuer.verify(await sign({ kind: 'admin', cid: approverClientId(approverId) }, approverId))).rejects.toMatchObject({ reason: 'wrong-claims' });
  });

  it('refuses an approver id that is not 32 lowercase hex characters and unreasonable lifetimes', async () => {
    const issuer = await TokenIssuer.ephemeral();
    await expect(issuer.issueApprover({ approverId: '+' })).rejects.toThrow(TypeError);
    await expect(issuer.issueApprover({ approverId, ttlSeconds: 0 })).rejects.toThrow(TypeError);
    await expect(issuer.issueApprover({ approverId, ttlSeconds: 8 * 24 * 3600 })).rejects.toThrow(TypeError);
  });
});
