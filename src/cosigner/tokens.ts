/**
 * Short-lived broker tokens for devices and approvers: ES256 JWTs that the co-signer issues at
 * enrollment and on renewal, and that the holder sends as its MQTT password. The embedded broker
 * checks them with `verify`; EMQX checks the same tokens with the public key (see deploy/emqx/).
 *
 * A device token names a wallet and has no `kind` (tokens from before approvers existed look the
 * same). An approver token says `kind: "approver"` and names no wallet. Each is bound to its own
 * client id (`d-<deviceId>`, `a-<approverId>`), so neither can pass for the other.
 *
 * The signing key is an EC P-256 key kept owner-only (0600) in the data directory.
 */
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { errors as joseErrors, generateKeyPair, exportPKCS8, jwtVerify, SignJWT } from 'jose';
import { DEVICE_ID_PATTERN, WALLET_ID_PATTERN, approverClientId, deviceClientId } from '../channel/topics.js';
import { emqxApproverAcl, emqxDeviceAcl, type EmqxAclRule } from './broker/access-rules.js';
import { TokenError } from './broker/errors.js';
import { ensurePrivateDirectory, readTextIfExists, writePrivateFileOnce } from './broker/private-files.js';

export const TOKEN_ISSUER = 'tandem-cosigner';
export const TOKEN_AUDIENCE = 'tandem-broker';
export const TOKEN_ALGORITHM = 'ES256';
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
export const MAX_TOKEN_TTL_SECONDS = 7 * 24 * 3600;
/** Seconds of clock difference tolerated on `exp`, `nbf` and `iat`. */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 5;
export const TOKEN_KEY_FILE = 'device-token-key.pem';

export interface DeviceTokenClaims {
  iss: typeof TOKEN_ISSUER;
  aud: typeof TOKEN_AUDIENCE;
  /** Absent on device tokens; present only so that `claims.kind === 'approver'` tells the two apart. */
  kind?: undefined;
  /** The device id, which is also its MQTT username. */
  sub: string;
  wallet: string;
  /** The only MQTT client id this token may connect with. */
  cid: string;
  /** The same access rules in EMQX's claim format. The embedded broker derives them from `wallet` instead. */
  acl: EmqxAclRule[];
  iat: number;
  exp: number;
  jti: string;
}

export interface ApproverTokenClaims {
  iss: typeof TOKEN_ISSUER;
  aud: typeof TOKEN_AUDIENCE;
  kind: 'approver';
  /** The approver id, which is also its MQTT username. */
  sub: string;
  /** The only MQTT client id this token may connect with: approverClientId(sub). */
  cid: string;
  acl: EmqxAclRule[];
  iat: number;
  exp: number;
  jti: string;
}

export type BrokerTokenClaims = DeviceTokenClaims | ApproverTokenClaims;

export interface IssuedDeviceToken {
  token: string;
  /** Unix seconds: renew before this. */
  expiresAt: number;
}

export type IssuedToken = IssuedDeviceToken;

/** What the embedded broker needs: something that turns a token into trusted claims or throws a TokenError. */
export interface BrokerTokenVerifier {
  verify(token: string): Promise<BrokerTokenClaims>;
}

/** @deprecated The verifier now also answers approver tokens: use BrokerTokenVerifier. */
export type DeviceTokenVerifier = BrokerTokenVerifier;

export interface TokenIssuerOptions {
  /** Milliseconds since the epoch; for tests that need tokens from another time. */
  now?: () => number;
}

export class TokenIssuer implements BrokerTokenVerifier {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #now: () => number;

  private constructor(privateKey: KeyObject, options: TokenIssuerOptions) {
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    this.#now = options.now ?? Date.now;
  }

  /** Loads the signing key from `dir`, creating it on first run. */
  static async open(dir: string, options: TokenIssuerOptions = {}): Promise<TokenIssuer> {
    await ensurePrivateDirectory(dir);
    const path = join(dir, TOKEN_KEY_FILE);
    let pem = await readTextIfExists(path);
    if (pem === undefined) {
      const created = await newSigningKeyPem();
      pem = (await writePrivateFileOnce(path, created)) ? created : await readTextIfExists(path);
    }
    return new TokenIssuer(parseSigningKey(pem ?? '', path), options);
  }

  /** An issuer from a signing key the caller stores (the co-signer keeps it sealed under its master key). */
  static fromPem(pem: string, options: TokenIssuerOptions = {}): TokenIssuer {
    return new TokenIssuer(parseSigningKey(pem, 'the supplied key'), options);
  }

  /** A new P-256 signing key as PKCS#8 PEM, for fromPem. */
  static async newSigningKeyPem(): Promise<string> {
    return newSigningKeyPem();
  }

  /** An issuer whose key lives only in memory: for tests and throwaway setups. */
  static async ephemeral(options: TokenIssuerOptions = {}): Promise<TokenIssuer> {
    return new TokenIssuer(parseSigningKey(await newSigningKeyPem(), 'memory'), options);
  }

  /** The verification key as SPKI PEM, for brokers that check tokens themselves (EMQX `public_key`). */
  publicKeyPem(): string {
    return this.#publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  async issue(request: { deviceId: string; walletId: string; ttlSeconds?: number }): Promise<IssuedDeviceToken> {
    if (!DEVICE_ID_PATTERN.test(request.deviceId)) throw new TypeError(`Not a device id: ${JSON.stringify(request.deviceId)}`);
    if (!WALLET_ID_PATTERN.test(request.walletId)) throw new TypeError(`Not a wallet id: ${JSON.stringify(request.walletId)}`);
    return this.#sign(
      request.deviceId,
      { wallet: request.walletId, cid: deviceClientId(request.deviceId), acl: emqxDeviceAcl({ deviceId: request.deviceId, walletId: request.walletId }) },
      request.ttlSeconds,
    );
  }

  /** A token for an approver: its mailbox and the co-signer status, no wallet. */
  async issueApprover(request: { approverId: string; ttlSeconds?: number }): Promise<IssuedToken> {
    if (!DEVICE_ID_PATTERN.test(request.approverId)) throw new TypeError(`Not an approver id: ${JSON.stringify(request.approverId)}`);
    return this.#sign(request.approverId, { kind: 'approver', cid: approverClientId(request.approverId), acl: emqxApproverAcl(request.approverId) }, request.ttlSeconds);
  }

  async #sign(subject: string, claims: Record<string, unknown>, ttl = DEFAULT_TOKEN_TTL_SECONDS): Promise<IssuedToken> {
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
      throw new TypeError(`A token lifetime is 1 to ${MAX_TOKEN_TTL_SECONDS} whole seconds, not ${ttl}.`);
    }
    const issuedAt = Math.floor(this.#now() / 1000);
    const expiresAt = issuedAt + ttl;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(subject)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(this.#privateKey);
    return { token, expiresAt };
  }

  async verify(token: string): Promise<BrokerTokenClaims> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#publicKey, {
        algorithms: [TOKEN_ALGORITHM],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
        currentDate: new Date(this.#now()),
      }));
    } catch (cause) {
      throw tokenErrorFrom(cause);
    }
    const { sub, wallet, cid, kind } = payload;
    if (kind === 'approver') {
      if (typeof sub !== 'string' || !DEVICE_ID_PATTERN.test(sub) || wallet !== undefined) {
        throw new TokenError('wrong-claims', 'The approver token does not name a valid approver, or names a wallet.');
      }
      if (cid !== approverClientId(sub)) throw new TokenError('wrong-claims', 'The approver token is bound to another client id.');
      return payload as unknown as ApproverTokenClaims;
    }
    if (kind !== undefined) throw new TokenError('wrong-claims', `The token is of an unknown kind ${JSON.stringify(kind)}.`);
    if (typeof sub !== 'string' || !DEVICE_ID_PATTERN.test(sub) || typeof wallet !== 'string' || !WALLET_ID_PATTERN.test(wallet)) {
      throw new TokenError('wrong-claims', 'The device token does not name a valid device and wallet.');
    }
    if (cid !== deviceClientId(sub)) {
      throw new TokenError('wrong-claims', 'The device token is bound to another client id.');
    }
    return payload as unknown as DeviceTokenClaims;
  }
}

async function newSigningKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  return exportPKCS8(privateKey);
}

function parseSigningKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (cause) {
    throw new TokenError('signing-key', `The device-token signing key in ${where} cannot be read.`, {
      details: 'Restore the file, or delete it to create a new key (every device must then renew its token).',
      cause,
    });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TokenError('signing-key', `The device-token signing key in ${where} is not an EC P-256 key.`, {
      details: 'Delete it to create a new key (every device must then renew its token).',
    });
  }
  return key;
}

function tokenErrorFrom(cause: unknown): TokenError {
  if (cause instanceof joseErrors.JWTExpired) {
    return new TokenError('expired', 'The broker token has expired. Renew it with the co-signer.', { cause });
  }
  if (cause instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new TokenError('bad-signature', 'The broker token was not signed by this co-signer.', { cause });
  }
  if (cause instanceof joseErrors.JWTClaimValidationFailed) {
    return new TokenError('wrong-claims', `The broker token's claims are not acceptable: ${cause.message}.`, { cause });
  }
  if (cause instanceof joseErrors.JOSEAlgNotAllowed) {
    return new TokenError('bad-signature', 'The broker token uses an algorithm other than ES256.', { cause });
  }
  return new TokenError('malformed', 'The broker token is not a valid JWT.', { cause });
}
