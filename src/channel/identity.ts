/**
 * Identity keys: the long-lived secp256k1 key pair of a device or a co-signer, pinned by the other side
 * at enrollment. They sign handshakes and presence, and their static-static ECDH feeds every session key.
 *
 * Signatures are ECDSA over secp256k1 (low-s, 64-byte compact r||s) on a domain-separated SHA-256
 * digest: taggedHash('tandem/channel/v1/signature/<domain>', message), signed with prehash off, so a
 * signature made for one purpose (hello, accept, status, enroll, token) never verifies for another, nor for an
 * Ethereum or Bitcoin message. ECDSA rather than BIP-340 Schnorr because @noble signs ECDSA about 4x faster.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '../mpc/bytes.js';
import { pointFromBytes, randomScalar, scalarToBytes } from '../mpc/curve.js';
import { taggedHash } from '../mpc/hash.js';
import { ChannelError, invalidArgument } from './errors.js';

export const PUBLIC_KEY_BYTES = 33;
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** What an identity signature is for. Each is its own hash domain. */
export type SignatureDomain = 'hello' | 'accept' | 'status' | 'enroll' | 'token' | 'decision';

const STATIC_SECRET_CACHE_SIZE = 4096;

function signatureDigest(domain: SignatureDomain, message: Uint8Array): Uint8Array {
  return taggedHash(`tandem/channel/v1/signature/${domain}`, message);
}

/** Checks a compressed public key (bytes or hex) and returns a copy of its 33 bytes. */
export function parsePublicKey(input: Uint8Array | string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = typeof input === 'string' ? hexToBytes(input) : input;
    pointFromBytes(bytes);
  } catch (cause) {
    throw new ChannelError('CHANNEL_INVALID_ARGUMENT', 'Not a compressed secp256k1 public key.', {
      details: 'Expected 33 bytes (66 hex characters) starting with 02 or 03, on the curve.',
      cause,
    });
  }
  return bytes.slice();
}

/** A device id: the first 16 bytes of a tagged SHA-256 of the compressed public key, as 32 lowercase hex characters. */
export function deviceIdFromPublicKey(publicKey: Uint8Array | string): string {
  return bytesToHex(taggedHash('tandem/device-id/v1', parsePublicKey(publicKey)).subarray(0, 16));
}

export function verifyIdentitySignature(
  publicKey: Uint8Array,
  domain: SignatureDomain,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    return secp256k1.verify(signature, signatureDigest(domain, message), publicKey, { prehash: false, lowS: true });
  } catch {
    return false;
  }
}

/** ECDH x-coordinate between a secret key and a validated public key. */
export function sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const point = secp256k1.getSharedSecret(secretKey, publicKey, true);
  const x = point.slice(1);
  point.fill(0);
  return x;
}

/** A fresh secret key from the platform CSPRNG, with its compressed public key. */
export function generateKeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = scalarToBytes(randomScalar());
  return { secretKey, publicKey: secp256k1.getPublicKey(secretKey, true) };
}

export class Identity {
  readonly publicKey: Uint8Array;
  readonly deviceId: string;
  #secretKey: Uint8Array;
  #destroyed = false;
  /**
   * ECDH between two identity keys never changes, and at ~3.6 ms per multiplication it is the
   * costliest part of a handshake, so it is computed once per peer.
   */
  readonly #staticSecrets = new Map<string, Uint8Array>();

  private constructor(secretKey: Uint8Array) {
    this.#secretKey = secretKey;
    this.publicKey = secp256k1.getPublicKey(secretKey, true);
    this.deviceId = deviceIdFromPublicKey(this.publicKey);
  }

  static generate(): Identity {
    return new Identity(generateKeyPair().secretKey);
  }

  /** From the 32-byte secret key, as bytes or hex. */
  static fromSecretKey(input: Uint8Array | string): Identity {
    let bytes: Uint8Array;
    try {
      bytes = typeof input === 'string' ? hexToBytes(input) : input.slice();
    } catch (cause) {
      throw new ChannelError('CHANNEL_INVALID_ARGUMENT', 'An identity secret key must be 32 bytes of hex.', { cause });
    }
    if (bytes.length !== SECRET_KEY_BYTES || !secp256k1.utils.isValidSecretKey(bytes)) {
      throw invalidArgument('Not a valid secp256k1 secret key.', `expected ${SECRET_KEY_BYTES} bytes in (0, n)`);
    }
    return new Identity(bytes);
  }

  get publicKeyHex(): string {
    return bytesToHex(this.publicKey);
  }

  /** A copy of the secret key. Store it only encrypted. */
  exportSecretKey(): Uint8Array {
    this.#assertUsable();
    return this.#secretKey.slice();
  }

  exportSecretKeyHex(): string {
    return bytesToHex(this.exportSecretKey());
  }

  sign(domain: SignatureDomain, message: Uint8Array): Uint8Array {
    this.#assertUsable();
    return secp256k1.sign(signatureDigest(domain, message), this.#secretKey, { prehash: false, lowS: true });
  }

  /** ECDH with a peer's identity key (cached per peer). The returned bytes are shared: do not modify them. */
  staticSecretWith(peerPublicKey: Uint8Array): Uint8Array {
    this.#assertUsable();
    const id = bytesToHex(peerPublicKey);
    const cached = this.#staticSecrets.get(id);
    if (cached) return cached;
    const secret = sharedSecret(this.#secretKey, parsePublicKey(peerPublicKey));
    this.#staticSecrets.set(id, secret);
    if (this.#staticSecrets.size > STATIC_SECRET_CACHE_SIZE) {
      const oldest = this.#staticSecrets.keys().next().value!;
      this.#staticSecrets.get(oldest)!.fill(0);
      this.#staticSecrets.delete(oldest);
    }
    return secret;
  }

  /** Overwrites the secret key and cached secrets; the identity is unusable afterwards. */
  destroy(): void {
    this.#secretKey.fill(0);
    for (const secret of this.#staticSecrets.values()) secret.fill(0);
    this.#staticSecrets.clear();
    this.#destroyed = true;
  }

  #assertUsable(): void {
    if (this.#destroyed) throw new ChannelError('CHANNEL_CLOSED', 'This identity key was destroyed.');
  }
}
