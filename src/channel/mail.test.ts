import { describe, expect, it } from 'vitest';
import { ChannelError } from './errors.js';
import { Identity } from './identity.js';
import { MAX_LETTER_BYTES, openLetter, sealLetter } from './mail.js';

/** version u8 | ephemeralKey 33 | nonce 12 | ciphertext | tag 16 */
const EPHEMERAL_START = 1;
const NONCE_START = 1 + 33;
const CIPHERTEXT_START = 1 + 33 + 12;
const TAG_BYTES = 16;

const body = { type: 'inquire', mailId: 'a1b2c3', requestId: '0123456789abcdef0123456789abcdef', nested: { list: [1, 'two', null, true] } };

async function rejection(promise: Promise<unknown>): Promise<ChannelError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ChannelError);
    return error as ChannelError;
  }
  throw new Error('expected the letter to be refused');
}

function flipped(letter: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = letter.slice();
  copy[index]! ^= mask;
  return copy;
}

describe('sealed mail', () => {
  const sender = Identity.generate();
  const reader = Identity.generate();

  it('round-trips a JSON body from the sender to the reader', async () => {
    const letter = await sealLetter(sender, reader.publicKey, body);
    expect(letter[0]).toBe(1);
    expect(letter.length).toBe(CIPHERTEXT_START + new TextEncoder().encode(JSON.stringify(body)).length + TAG_BYTES);
    expect(await openLetter(reader, sender.publicKey, letter)).toEqual(body);
    // Opening does not spoil anything for a second read (the reader treats repeats as the same letter).
    expect(await openLetter(reader, sender.publicKey, letter)).toEqual(body);
  });

  it('does not carry the body in the clear', async () => {
    const marker = 'plaintext-marker-that-must-not-appear';
    const letter = await sealLetter(sender, reader.publicKey, { marker });
    expect(Buffer.from(letter).includes(Buffer.from(marker))).toBe(false);
  });

  it('works in both directions between the same two identities', async () => {
    const reply = await sealLetter(reader, sender.publicKey, { type: 'refused', replyTo: 'a1b2c3' });
    expect(await openLetter(sender, reader.publicKey, reply)).toEqual({ type: 'refused', replyTo: 'a1b2c3' });
  });

  it('cannot be opened by a third identity, whoever it claims sent it', async () => {
    const letter = await sealLetter(sender, reader.publicKey, body);
    const eavesdropper = Identity.generate();
    expect((await rejection(openLetter(eavesdropper, sender.publicKey, letter))).code).toBe('CHANNEL_TAMPERED');
    expect((await rejection(openLetter(eavesdropper, reader.publicKey, letter))).code).toBe('CHANNEL_TAMPERED');
  });

  it('fails with CHANNEL_TAMPERED when opened with the wrong claimed sender', async () => {
    const letter = await sealLetter(sender, reader.publicKey, body);
    const impostor = Identity.generate();
    expect((await rejection(openLetter(reader, impostor.publicKey, letter))).code).toBe('CHANNEL_TAMPERED');
    // And a letter an impostor sealed does not pass as the real sender's.
    const forged = await sealLetter(impostor, reader.publicKey, body);
    expect((await rejection(openLetter(reader, sender.publicKey, forged))).code).toBe('CHANNEL_TAMPERED');
  });

  it('refuses a letter with any single byte flipped: header, ephemeral key, nonce, ciphertext or tag', async () => {
    const letter = await sealLetter(sender, reader.publicKey, { ok: 1 });
    const codes = new Map<number, string>();
    for (let index = 0; index < letter.length; index += 1) {
      const error = await rejection(openLetter(reader, sender.publicKey, flipped(letter, index)));
      codes.set(index, error.code);
    }
    expect(codes.get(0)).toBe('CHANNEL_BAD_FRAME');
    for (const [index, code] of codes) {
      if (index === 0) continue;
      if (index < NONCE_START) {
        // An altered ephemeral key either is no curve point (not a letter) or derives another key.
        expect(['CHANNEL_TAMPERED', 'CHANNEL_BAD_FRAME'], `ephemeral key byte ${index - EPHEMERAL_START}`).toContain(code);
      } else {
        expect(code, `byte ${index}`).toBe('CHANNEL_TAMPERED');
      }
    }
    // Byte 1 is the ephemeral key's parity: 02 <-> 03 is still a valid point, so this is the AEAD refusing.
    expect(codes.get(EPHEMERAL_START)).toBe('CHANNEL_TAMPERED');
    // Sanity: the untouched letter still opens, so the refusals above were caused by the flips.
    expect(await openLetter(reader, sender.publicKey, letter)).toEqual({ ok: 1 });
  });

  it('refuses a letter whose ephemeral key is no curve point with CHANNEL_BAD_FRAME', async () => {
    const letter = await sealLetter(sender, reader.publicKey, body);
    for (const prefix of [0x00, 0x04, 0x05]) {
      const broken = letter.slice();
      broken[EPHEMERAL_START] = prefix;
      expect((await rejection(openLetter(reader, sender.publicKey, broken))).code, `prefix ${prefix}`).toBe('CHANNEL_BAD_FRAME');
    }
  });

  it('refuses a letter whose ephemeral key is replaced by another valid key', async () => {
    const letter = await sealLetter(sender, reader.publicKey, body);
    const swapped = letter.slice();
    swapped.set(Identity.generate().publicKey, EPHEMERAL_START);
    expect((await rejection(openLetter(reader, sender.publicKey, swapped))).code).toBe('CHANNEL_TAMPERED');
  });

  it('refuses a letter with the tag cut off or bytes appended', async () => {
    const letter = await sealLetter(sender, reader.publicKey, body);
    const appended = new Uint8Array(letter.length + 1);
    appended.set(letter);
    expect((await rejection(openLetter(reader, sender.publicKey, appended))).code).toBe('CHANNEL_TAMPERED');
    expect((await rejection(openLetter(reader, sender.publicKey, letter.subarray(0, letter.length - 1)))).code).toBe('CHANNEL_TAMPERED');
  });

  it('refuses truncated letters, empty input and a wrong version with CHANNEL_BAD_FRAME', async () => {
    const letter = await sealLetter(sender, reader.publicKey, body);
    for (const length of [0, 1, NONCE_START, CIPHERTEXT_START, CIPHERTEXT_START + TAG_BYTES - 1]) {
      expect((await rejection(openLetter(reader, sender.publicKey, letter.slice(0, length)))).code, `${length} bytes`).toBe('CHANNEL_BAD_FRAME');
    }
    for (const version of [0, 2, 0xff]) {
      const other = letter.slice();
      other[0] = version;
      expect((await rejection(openLetter(reader, sender.publicKey, other))).code, `version ${version}`).toBe('CHANNEL_BAD_FRAME');
    }
  });

  it('refuses an oversized letter with CHANNEL_BAD_FRAME before any cryptography', async () => {
    const letter = await sealLetter(sender, reader.publicKey, body);
    const huge = new Uint8Array(MAX_LETTER_BYTES + 1);
    huge.set(letter);
    expect((await rejection(openLetter(reader, sender.publicKey, huge))).code).toBe('CHANNEL_BAD_FRAME');
  });

  it('reports a well-sealed letter that holds no JSON as CHANNEL_BAD_FRAME', async () => {
    // sealLetter always writes JSON; undefined serialises to nothing, which is no JSON.
    const letter = await sealLetter(sender, reader.publicKey, undefined);
    expect((await rejection(openLetter(reader, sender.publicKey, letter))).code).toBe('CHANNEL_BAD_FRAME');
  });

  it('refuses to seal a body that would make the letter larger than MAX_LETTER_BYTES', async () => {
    const overhead = CIPHERTEXT_START + TAG_BYTES;
    // JSON of a string is the string plus two quotes.
    const fits = 'x'.repeat(MAX_LETTER_BYTES - overhead - 2);
    const letter = await sealLetter(sender, reader.publicKey, fits);
    expect(letter.length).toBe(MAX_LETTER_BYTES);
    expect(await openLetter(reader, sender.publicKey, letter)).toBe(fits);
    const error = await rejection(sealLetter(sender, reader.publicKey, `${fits}x`));
    expect(error.code).toBe('CHANNEL_INVALID_ARGUMENT');
  });

  it('refuses to seal to something that is not a public key', async () => {
    const notAKey = new Uint8Array(33).fill(7);
    expect((await rejection(sealLetter(sender, notAKey, body))).code).toBe('CHANNEL_INVALID_ARGUMENT');
  });

  it('seals the same body differently each time: fresh ephemeral key and nonce', async () => {
    const first = await sealLetter(sender, reader.publicKey, body);
    const second = await sealLetter(sender, reader.publicKey, body);
    expect(first.length).toBe(second.length);
    expect(Buffer.from(first.subarray(EPHEMERAL_START, NONCE_START)).equals(Buffer.from(second.subarray(EPHEMERAL_START, NONCE_START)))).toBe(false);
    expect(Buffer.from(first.subarray(NONCE_START, CIPHERTEXT_START)).equals(Buffer.from(second.subarray(NONCE_START, CIPHERTEXT_START)))).toBe(false);
    expect(Buffer.from(first.subarray(CIPHERTEXT_START)).equals(Buffer.from(second.subarray(CIPHERTEXT_START)))).toBe(false);
    expect(await openLetter(reader, sender.publicKey, first)).toEqual(body);
    expect(await openLetter(reader, sender.publicKey, second)).toEqual(body);
  });
});
