import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { EnvelopeError } from './errors.js';
import type { MasterKey } from './master-key.js';

/**
 * Envelope encryption of one record: a fresh random data key encrypts the record (AES-256-GCM),
 * and the master key wraps the data key (AES-256-GCM). Both layers authenticate the record's
 * identity (the context), so a ciphertext copied into another row, or a wrapped key swapped
 * between records, fails to open.
 *
 * Blob layout, version 1 (all lengths in bytes):
 *   version (1) = 0x01 | master key id (8) | wrap iv (12) | wrapped data key (32) | wrap tag (16)
 *   | data iv (12) | data tag (16) | ciphertext (rest)
 * The first 9 bytes are the header; both layers authenticate it.
 */

/** What the sealed record is, e.g. ['share', walletId, generation]. Part of the authenticated data. */
export type EnvelopeContext = readonly (string | number)[];

const VERSION = 1;
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
const MIN_BYTES = HEADER_BYTES + IV_BYTES + DATA_KEY_BYTES + TAG_BYTES + IV_BYTES + TAG_BYTES;

export class EnvelopeCipher {
  readonly keyId: string;
  readonly #masterKey: KeyObject;
  readonly #keyIdBytes: Buffer;

  constructor(masterKey: MasterKey) {
    this.#masterKey = createSecretKey(Buffer.from(masterKey.bytes));
    this.keyId = masterKey.keyId;
    this.#keyIdBytes = Buffer.from(masterKey.keyId, 'hex');
    if (this.#keyIdBytes.length !== KEY_ID_BYTES) throw new TypeError('A master key id is 8 bytes of hex.');
  }

  seal(plaintext: Uint8Array | string, context: EnvelopeContext): Uint8Array {
    const header = Buffer.concat([Uint8Array.of(VERSION), this.#keyIdBytes]);
    const contextBytes = encodeContext(context);
    const dataKey = randomBytes(DATA_KEY_BYTES);
    const plain = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : Buffer.from(plaintext);
    try {
      const wrapIv = randomBytes(IV_BYTES);
      const wrap = createCipheriv('aes-256-gcm', this.#masterKey, wrapIv);
      wrap.setAAD(additionalData('wrap', header, contextBytes));
      const wrappedKey = Buffer.concat([wrap.update(dataKey), wrap.final()]);
      const wrapTag = wrap.getAuthTag();

      const dataIv = randomBytes(IV_BYTES);
      const data = createCipheriv('aes-256-gcm', dataKey, dataIv);
      data.setAAD(additionalData('data', header, contextBytes));
      const ciphertext = Buffer.concat([data.update(plain), data.final()]);
      const dataTag = data.getAuthTag();

      return new Uint8Array(Buffer.concat([header, wrapIv, wrappedKey, wrapTag, dataIv, dataTag, ciphertext]));
    } finally {
      dataKey.fill(0);
      plain.fill(0);
    }
  }

  open(blob: Uint8Array, context: EnvelopeContext): Uint8Array {
    const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    if (bytes.length < MIN_BYTES) {
      throw new EnvelopeError('ENVELOPE_BAD_FORMAT', `A sealed record is at least ${MIN_BYTES} bytes; this one has ${bytes.length}. The stored value is damaged.`);
    }
    if (bytes[0] !== VERSION) {
      throw new EnvelopeError('ENVELOPE_UNSUPPORTED_VERSION', `Sealed record version ${bytes[0]} is not supported (this co-signer reads version ${VERSION}). Run a newer co-signer.`);
    }
    const header = bytes.subarray(0, HEADER_BYTES);
    const sealedBy = header.subarray(1).toString('hex');
    if (sealedBy !== this.keyId) {
      throw new EnvelopeError(
        'ENVELOPE_WRONG_MASTER_KEY',
        `This record was sealed under master key ${sealedBy}, but the loaded master key is ${this.keyId}. Start the co-signer with the master key that sealed it.`,
      );
    }
    let at = HEADER_BYTES;
    const take = (length: number): Buffer => bytes.subarray(at, (at += length));
    const wrapIv = take(IV_BYTES);
    const wrappedKey = take(DATA_KEY_BYTES);
    const wrapTag = take(TAG_BYTES);
    const dataIv = take(IV_BYTES);
    const dataTag = take(TAG_BYTES);
    const ciphertext = bytes.subarray(at);
    const contextBytes = encodeContext(context);

    let dataKey: Buffer;
    try {
      const unwrap = createDecipheriv('aes-256-gcm', this.#masterKey, wrapIv);
      unwrap.setAAD(additionalData('wrap', header, contextBytes));
      unwrap.setAuthTag(wrapTag);
      dataKey = Buffer.concat([unwrap.update(wrappedKey), unwrap.final()]);
    } catch (cause) {
      throw authFailed(context, cause);
    }
    try {
      const data = createDecipheriv('aes-256-gcm', dataKey, dataIv);
      data.setAAD(additionalData('data', header, contextBytes));
      data.setAuthTag(dataTag);
      return new Uint8Array(Buffer.concat([data.update(ciphertext), data.final()]));
    } catch (cause) {
      throw authFailed(context, cause);
    } finally {
      dataKey.fill(0);
    }
  }

  openString(blob: Uint8Array, context: EnvelopeContext): string {
    const plain = this.open(blob, context);
    try {
      return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength).toString('utf8');
    } finally {
      plain.fill(0);
    }
  }
}

function authFailed(context: EnvelopeContext, cause: unknown): EnvelopeError {
  return new EnvelopeError(
    'ENVELOPE_AUTH_FAILED',
    `A sealed record (${context.join('/')}) failed authentication: it was altered, or it was moved from another record. Restore the row from a trusted backup.`,
    { cause },
  );
}

function additionalData(layer: 'wrap' | 'data', header: Uint8Array, context: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`tandem/envelope/v1/${layer}\0`, 'utf8'), header, context]);
}

/** Length-prefixed and typed, so ['a', 'bc'] and ['ab', 'c'], or 1 and '1', never encode alike. */
function encodeContext(context: EnvelopeContext): Buffer {
  const parts: Buffer[] = [];
  for (const part of context) {
    if (typeof part === 'number' && !Number.isSafeInteger(part)) throw new TypeError('Envelope context numbers must be safe integers.');
    const text = Buffer.from(String(part), 'utf8');
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(typeof part === 'number' ? 0x6e : 0x73, 0);
    prefix.writeUInt32BE(text.length, 1);
    parts.push(prefix, text);
  }
  return Buffer.concat(parts);
}
