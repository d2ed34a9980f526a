import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { Fn } from './curve.js';
import { u32be } from './bytes.js';
import { Sha256 } from './wasm/sha256.js';

const encoder = new TextEncoder();

export type TranscriptPart = Uint8Array | string | number;

function partBytes(part: TranscriptPart): Uint8Array {
  if (typeof part === 'string') return encoder.encode(part);
  if (typeof part === 'number') return u32be(part);
  return part;
}

/**
 * Unambiguous transcript encoding: every part (the tag first) is prefixed
 * with its 4-byte length, so no two different part lists hash alike.
 */
function feed(hasher: { update(data: Uint8Array): unknown }, tag: string, parts: TranscriptPart[]): void {
  for (const part of [tag, ...parts]) {
    const bytes = partBytes(part);
    hasher.update(u32be(bytes.length));
    hasher.update(bytes);
  }
}

/** Domain-separated SHA-256 over a length-prefixed transcript (the compression in WebAssembly: transcripts carry ~100 KB a signature). */
export function taggedHash(tag: string, ...parts: TranscriptPart[]): Uint8Array {
  const hasher = new Sha256();
  feed(hasher, tag, parts);
  return hasher.digest();
}

/** Hash to a scalar by wide reduction: 512 bits reduced mod n, so the bias is about 2^-256. */
export function hashToScalar(tag: string, ...parts: TranscriptPart[]): bigint {
  const hasher = sha512.create();
  feed(hasher, tag, parts);
  return Fn.create(bytesToNumberBE(hasher.digest()));
}

