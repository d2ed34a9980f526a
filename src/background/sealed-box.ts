/**
 * AES-256-GCM over JSON with WebCrypto, and the slow password KDF in front of it. Used for the
 * vault (under the user's password) and the recovery kit (under the recovery secret).
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { bytesToHex, hexToBytes, randomBytes } from '../mpc/bytes.js';
import { WalletError } from './errors.js';
import { WEAK_TEST_KDF } from './test-build.js';

const TEST_KDF_COST = { name: 'scrypt', N: 2 ** 12, r: 8, p: 1 } as const;

/**
 * scrypt, memory-hard so a stolen vault costs an attacker memory as well as time per guess.
 * N = 2^17, r = 8 (128 MiB, about 0.6 s in V8 on this machine kind): the cost is paid once per
 * unlock, while the derived key then sits in storage.session.
 */
export const VAULT_KDF: { readonly name: 'scrypt'; readonly N: number; readonly r: 8; readonly p: 1 } = WEAK_TEST_KDF ? TEST_KDF_COST : { name: 'scrypt', N: 2 ** 17, r: 8, p: 1 };

/** The recovery secret has 160 random bits, so a moderate cost suffices; it is still memory-hard. */
export const RECOVERY_KDF: typeof VAULT_KDF = WEAK_TEST_KDF ? TEST_KDF_COST : { name: 'scrypt', N: 2 ** 15, r: 8, p: 1 };

export interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** 16 random bytes, hex. */
  salt: string;
}

export interface SealedBox {
  /** 12 bytes, hex. */
  iv: string;
  /** AES-GCM ciphertext with its tag, hex. */
  ciphertext: string;
}

/** The most a stored record may ask for: what Tandem writes (128 MiB), nothing beyond. */
const MAX_N = 2 ** 17;

export function newKdfParams(cost: Omit<KdfParams, 'salt'> = VAULT_KDF): KdfParams {
  return { ...cost, salt: bytesToHex(randomBytes(16)) };
}

export async function deriveKey(secret: string, kdf: KdfParams): Promise<Uint8Array> {
  // A stored record chooses its own cost: cap it, so a tampered one cannot exhaust memory.
  if (kdf.name !== 'scrypt' || kdf.N > MAX_N || kdf.r !== 8 || kdf.p !== 1 || !/^[0-9a-f]{32}$/.test(kdf.salt)) throw new WalletError('BAD_SETTING', 'The stored key-derivation parameters are not ones Tandem writes.');
  const password = new TextEncoder().encode(secret.normalize('NFKC'));
  return scryptAsync(password, hexToBytes(kdf.salt), { N: kdf.N, r: kdf.r, p: kdf.p, dkLen: 32, asyncTick: 20 });
}

async function aesKey(keyBytes: Uint8Array, usage: KeyUsage): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', keyBytes as Uint8Array<ArrayBuffer>, 'AES-GCM', false, [usage]);
}

export async function sealJson(keyBytes: Uint8Array, value: unknown, associatedData: string): Promise<SealedBox> {
  const iv = randomBytes(12);
  const plaintext = new TextEncoder().encode(JSON.stringify(value));
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: iv as Uint8Array<ArrayBuffer>, additionalData: new TextEncoder().encode(associatedData) },
    await aesKey(keyBytes, 'encrypt'),
    plaintext,
  );
  plaintext.fill(0);
  return { iv: bytesToHex(iv), ciphertext: bytesToHex(new Uint8Array(ciphertext)) };
}

/** Opens a box; a wrong key (or any tampering, including of the associated data) throws `onFailure`. */
export async function openJson<T>(keyBytes: Uint8Array, box: SealedBox, associatedData: string, onFailure: () => Error): Promise<T> {
  let plaintext: ArrayBuffer;
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: hexToBytes(box.iv) as Uint8Array<ArrayBuffer>, additionalData: new TextEncoder().encode(associatedData) },
      await aesKey(keyBytes, 'decrypt'),
      hexToBytes(box.ciphertext) as Uint8Array<ArrayBuffer>,
    );
  } catch {
    throw onFailure();
  }
  const bytes = new Uint8Array(plaintext);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } finally {
    bytes.fill(0);
  }
}
