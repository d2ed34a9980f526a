import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EnvelopeCipher } from './envelope.js';
import { EnvelopeError } from './errors.js';
import { masterKeyFromBytes } from './master-key.js';

const key = () => masterKeyFromBytes(randomBytes(32), 'env');

function openError(run: () => unknown): EnvelopeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvelopeError);
    return error as EnvelopeError;
  }
  throw new Error('expected an EnvelopeError');
}

describe('EnvelopeCipher', () => {
  const walletA = 'a'.repeat(32);
  const walletB = 'b'.repeat(32);

  it('round-trips text and bytes, and the blob does not contain the plaintext', () => {
    const cipher = new EnvelopeCipher(key());
    const secret = '{"secretShare":"SECRET-MARKER-1234567890"}';
    const blob = cipher.seal(secret, ['shares', walletA, 0]);
    expect(cipher.openString(blob, ['shares', walletA, 0])).toBe(secret);
    expect(Buffer.from(blob).includes('SECRET-MARKER')).toBe(false);
    expect(blob[0]).toBe(1);

    const bytes = randomBytes(100);
    expect(Buffer.from(cipher.open(cipher.seal(bytes, ['x']), ['x'])).equals(bytes)).toBe(true);
  });

  it('uses a fresh data key and iv per record: the same plaintext seals differently', () => {
    const cipher = new EnvelopeCipher(key());
    const a = cipher.seal('same', ['shares', walletA, 0]);
    const b = cipher.seal('same', ['shares', walletA, 0]);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    // The wrapped data keys (bytes 21..53) differ too, not just the ivs.
    expect(Buffer.from(a.subarray(21, 53)).equals(Buffer.from(b.subarray(21, 53)))).toBe(false);
  });

  it('refuses a ciphertext moved to another record (other wallet, generation, table)', () => {
    const cipher = new EnvelopeCipher(key());
    const blob = cipher.seal('share', ['shares', walletA, 3]);
    for (const context of [['shares', walletB, 3], ['shares', walletA, 4], ['presignatures', walletA, 3], ['shares', walletA, '3']]) {
      expect(openError(() => cipher.open(blob, context)).code).toBe('ENVELOPE_AUTH_FAILED');
    }
  });

  it('keeps context parts apart: ["ab","c"] does not open ["a","bc"]', () => {
    const cipher = new EnvelopeCipher(key());
    const blob = cipher.seal('x', ['ab', 'c']);
    expect(openError(() => cipher.open(blob, ['a', 'bc'])).code).toBe('ENVELOPE_AUTH_FAILED');
  });

  it('refuses a wrapped data key swapped in from another record', () => {
    const cipher = new EnvelopeCipher(key());
    const a = cipher.seal('share A', ['shares', walletA, 0]);
    const b = cipher.seal('share B', ['shares', walletB, 0]);
    const spliced = Uint8Array.from(a);
    spliced.set(b.subarray(9, 69), 9);
    expect(openError(() => cipher.open(spliced, ['shares', walletA, 0])).code).toBe('ENVELOPE_AUTH_FAILED');
  });

  it('refuses any flipped bit', () => {
    const cipher = new EnvelopeCipher(key());
    const blob = cipher.seal('some secret share text', ['shares', walletA, 0]);
    for (const index of [10, 30, 60, 75, 90, blob.length - 1]) {
      const bad = Uint8Array.from(blob);
      bad[index]! ^= 1;
      expect(openError(() => cipher.open(bad, ['shares', walletA, 0])).code).toBe('ENVELOPE_AUTH_FAILED');
    }
  });

  it('says clearly when the record was sealed under another master key', () => {
    const sealer = new EnvelopeCipher(key());
    const other = new EnvelopeCipher(key());
    const blob = sealer.seal('share', ['shares', walletA, 0]);
    const error = openError(() => other.open(blob, ['shares', walletA, 0]));
    expect(error.code).toBe('ENVELOPE_WRONG_MASTER_KEY');
    expect(error.shortMessage).toContain(sealer.keyId);
    expect(error.shortMessage).toContain(other.keyId);
  });

  it('detects a wrong master key even when the key id in the header was forged', () => {
    const sealer = new EnvelopeCipher(key());
    const other = new EnvelopeCipher(key());
    const blob = Uint8Array.from(sealer.seal('share', ['shares', walletA, 0]));
    blob.set(Buffer.from(other.keyId, 'hex'), 1);
    expect(openError(() => other.open(blob, ['shares', walletA, 0])).code).toBe('ENVELOPE_AUTH_FAILED');
  });

  it('refuses truncated blobs and unknown versions', () => {
    const cipher = new EnvelopeCipher(key());
    const blob = cipher.seal('x', ['c']);
    expect(openError(() => cipher.open(blob.subarray(0, 50), ['c'])).code).toBe('ENVELOPE_BAD_FORMAT');
    const v2 = Uint8Array.from(blob);
    v2[0] = 2;
    expect(openError(() => cipher.open(v2, ['c'])).code).toBe('ENVELOPE_UNSUPPORTED_VERSION');
  });
});
