/**
 * The symmetric primitives of a session's data frames, behind one interface so that a Node process
 * can bring its own. Web Crypto is the default and the only choice in a service worker. In Node every
 * Web Crypto call hops to the thread pool and copies its input, about 0.1 ms of CPU a call before any
 * byte is processed; node:crypto answers the same in a few microseconds. Whatever is passed must give
 * the same bytes as webFrameCrypto (the frames on the wire do not depend on which one made them).
 */
import { concatBytes, plainBytes } from '../mpc/bytes.js';

export interface FrameCrypto {
  /** HMAC-SHA256 under `key` of the concatenation of `parts`. */
  hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): Promise<Uint8Array>;
  /** AES-256-GCM with a 128-bit tag: returns ciphertext || tag. */
  sealAesGcm(key: Uint8Array, nonce: Uint8Array, additionalData: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Opens what sealAesGcm returned; rejects if it does not authenticate. */
  openAesGcm(key: Uint8Array, nonce: Uint8Array, additionalData: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
  sha256(bytes: Uint8Array): Promise<Uint8Array>;
}

/** Imported once per key array: a session's keys live as long as the session. */
const aesKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function importOnce(cache: WeakMap<Uint8Array, Promise<CryptoKey>>, key: Uint8Array, algorithm: string | HmacImportParams, usages: KeyUsage[]): Promise<CryptoKey> {
  let imported = cache.get(key);
  if (!imported) {
    imported = globalThis.crypto.subtle.importKey('raw', plainBytes(key), algorithm, false, usages);
    cache.set(key, imported);
    // A failed import is not remembered: the next call tries again.
    const attempt = imported;
    attempt.catch(() => {
      if (cache.get(key) === attempt) cache.delete(key);
    });
  }
  return imported;
}

export const webFrameCrypto: FrameCrypto = {
  async hmacSha256(key, parts) {
    const imported = await importOnce(hmacKeys, key, { name: 'HMAC', hash: 'SHA-256' }, ['sign']);
    return new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', imported, plainBytes(concatBytes(...parts))));
  },
  async sealAesGcm(key, nonce, additionalData, plaintext) {
    const imported = await importOnce(aesKeys, key, 'AES-GCM', ['encrypt', 'decrypt']);
    const params = { name: 'AES-GCM', iv: plainBytes(nonce), additionalData: plainBytes(additionalData), tagLength: 128 };
    return new Uint8Array(await globalThis.crypto.subtle.encrypt(params, imported, plainBytes(plaintext)));
  },
  async openAesGcm(key, nonce, additionalData, sealed) {
    const imported = await importOnce(aesKeys, key, 'AES-GCM', ['encrypt', 'decrypt']);
    const params = { name: 'AES-GCM', iv: plainBytes(nonce), additionalData: plainBytes(additionalData), tagLength: 128 };
    return new Uint8Array(await globalThis.crypto.subtle.decrypt(params, imported, plainBytes(sealed)));
  },
  async sha256(bytes) {
    return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', plainBytes(bytes)));
  },
};
