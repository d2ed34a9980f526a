/**
 * Sealed mail: a message one identity leaves for another on the broker, to be read whenever the
 * reader comes back (persistent session, QoS 1). Unlike a conversation there is no handshake to
 * wait for, so each letter carries its own key agreement:
 *
 *   letter  version u8 | ephemeralKey 33 | nonce 12 | ciphertext (AES-256-GCM, tag 16)
 *   key     HKDF-SHA256(ECDH(ephemeral, reader) || ECDH(sender, reader),
 *                       salt = ephemeralKey || senderKey || readerKey, info = 'tandem/mail/v1')
 *
 * The static-static term authenticates the sender to the reader (only the two of them can compute
 * it); the ephemeral term means a letter stays unreadable to whoever later steals the sender's
 * identity key. Both keys are also bound as the AEAD's additional data, so a letter cannot be
 * re-addressed. Replays are the body's concern: every body names what it is about (mail ids,
 * request ids), and readers treat repeated letters as the same letter.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, plainBytes, randomBytes } from '../mpc/bytes.js';
import { POINT_BYTES } from '../mpc/curve.js';
import { ChannelError } from './errors.js';
import { generateKeyPair, parsePublicKey, sharedSecret, type Identity } from './identity.js';

const MAIL_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + POINT_BYTES + NONCE_BYTES;
/** Letters carry a request and its payload (typed data can be large), never MPC rounds. */
export const MAX_LETTER_BYTES = 192 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function letterKey(ephemeralSecret: Uint8Array, staticSecret: Uint8Array, ephemeralKey: Uint8Array, senderKey: Uint8Array, readerKey: Uint8Array): Uint8Array {
  const secrets = concatBytes(ephemeralSecret, staticSecret);
  const key = hkdf(sha256, secrets, concatBytes(ephemeralKey, senderKey, readerKey), encoder.encode('tandem/mail/v1'), 32);
  secrets.fill(0);
  return key;
}

async function aesKey(raw: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  const key = await globalThis.crypto.subtle.importKey('raw', plainBytes(raw.slice()), { name: 'AES-GCM' }, false, [usage]);
  raw.fill(0);
  return key;
}

/** Seals `body` (JSON) from `sender` to the holder of `readerPublicKey`. */
export async function sealLetter(sender: Identity, readerPublicKey: Uint8Array, body: unknown): Promise<Uint8Array> {
  const reader = parsePublicKey(readerPublicKey);
  const plaintext = encoder.encode(JSON.stringify(body));
  if (plaintext.length + HEADER_BYTES + TAG_BYTES > MAX_LETTER_BYTES) {
    throw new ChannelError('CHANNEL_INVALID_ARGUMENT', 'This letter is too large to send.', { details: `${plaintext.length} bytes of body; letters are at most ${MAX_LETTER_BYTES} bytes` });
  }
  const ephemeral = generateKeyPair();
  const ephemeralSecret = sharedSecret(ephemeral.secretKey, reader);
  ephemeral.secretKey.fill(0);
  const key = await aesKey(letterKey(ephemeralSecret, sender.staticSecretWith(reader), ephemeral.publicKey, sender.publicKey, reader), 'encrypt');
  ephemeralSecret.fill(0);
  const nonce = randomBytes(NONCE_BYTES);
  const header = concatBytes(Uint8Array.of(MAIL_VERSION), ephemeral.publicKey, nonce);
  const additionalData = concatBytes(header, sender.publicKey, reader);
  const ciphertext = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv: plainBytes(nonce), additionalData: plainBytes(additionalData) }, key, plainBytes(plaintext)));
  return concatBytes(header, ciphertext);
}

/**
 * Opens a letter `reader` received from the holder of `senderPublicKey`. Throws CHANNEL_TAMPERED
 * when it was not sealed by that sender for this reader, or was altered; CHANNEL_BAD_FRAME when it is not a letter.
 */
export async function openLetter<Body = unknown>(reader: Identity, senderPublicKey: Uint8Array, letter: Uint8Array): Promise<Body> {
  if (letter.length < HEADER_BYTES + TAG_BYTES || letter.length > MAX_LETTER_BYTES || letter[0] !== MAIL_VERSION) {
    throw new ChannelError('CHANNEL_BAD_FRAME', 'This is not a Tandem letter.', { details: `${letter.length} bytes, version ${letter[0]}` });
  }
  const sender = parsePublicKey(senderPublicKey);
  const header = letter.subarray(0, HEADER_BYTES);
  let ephemeralKey: Uint8Array;
  try {
    ephemeralKey = parsePublicKey(letter.subarray(1, 1 + POINT_BYTES));
  } catch (cause) {
    throw new ChannelError('CHANNEL_BAD_FRAME', 'This is not a Tandem letter.', { details: 'its ephemeral key is not a secp256k1 point', cause });
  }
  const nonce = letter.slice(1 + POINT_BYTES, HEADER_BYTES);
  // Not staticSecretWith: that caches per peer, and an ephemeral key is never seen twice.
  const readerSecret = reader.exportSecretKey();
  const ephemeralSecret = sharedSecret(readerSecret, ephemeralKey);
  readerSecret.fill(0);
  const key = await aesKey(letterKey(ephemeralSecret, reader.staticSecretWith(sender), ephemeralKey, sender, reader.publicKey), 'decrypt');
  ephemeralSecret.fill(0);
  let plaintext: Uint8Array;
  try {
    plaintext = new Uint8Array(await globalThis.crypto.subtle.decrypt({ name: 'AES-GCM', iv: plainBytes(nonce), additionalData: plainBytes(concatBytes(header, sender, reader.publicKey)) }, key, plainBytes(letter.slice(HEADER_BYTES))));
  } catch (cause) {
    throw new ChannelError('CHANNEL_TAMPERED', 'A letter did not come from the expected sender or was altered; it was dropped.', { cause });
  }
  try {
    return JSON.parse(decoder.decode(plaintext)) as Body;
  } catch (cause) {
    throw new ChannelError('CHANNEL_BAD_FRAME', 'A letter holds no JSON.', { cause });
  }
}
