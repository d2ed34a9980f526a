import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, SignJWT, generateKeyPair } from 'jose';
import { deviceClientId } from '../channel/topics.js';
import { TokenError } from './broker/errors.js';
import { TOKEN_KEY_FILE, TokenIssuer } from './tokens.js';

const deviceId = 'a'.repeat(32);
const walletId = 'b'.repeat(32);
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
