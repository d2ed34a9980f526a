import { randomBytes, equalBytes } from './bytes.js';
import { taggedHash, type TranscriptPart } from './hash.js';

export const SALT_BYTES = 32;

/** Hash commitment with a fresh 32-byte salt: hiding by the salt, binding by SHA-256. */
export function commit(tag: string, ...parts: TranscriptPart[]): { commitment: Uint8Array; salt: Uint8Array } {
  const salt = randomBytes(SALT_BYTES);
  return { commitment: taggedHash(`commit/${tag}`, salt, ...parts), salt };
}

export function openCommitment(commitment: Uint8Array, tag: string, salt: Uint8Array, ...parts: TranscriptPart[]): boolean {
  return equalBytes(commitment, taggedHash(`commit/${tag}`, salt, ...parts));
}
