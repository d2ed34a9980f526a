import { CURVE_ORDER, Fn, G, type Point } from './curve.js';

export interface RecoverableSignature {
  r: bigint;
  s: bigint;
  /** Recovery id for Ethereum: 0 or 1 (y parity of R, adjusted for low-s). */
  recid: 0 | 1;
}

/** Recovery bits of the nonce point: y parity, and whether its x overflowed the order. */
export function nonceRecoveryBits(nonce: Point): number {
  const { x, y } = nonce.toAffine();
  return Number(y & 1n) | (x >= CURVE_ORDER ? 2 : 0);
}

/**
 * Verifies s*R == m*G + r*Y using the known nonce point R. Given R.x mod n == r
 * this is exactly ECDSA verification; rTimesKey (r*Y) can be computed before the message is known.
 */
export function verifyWithNonce(digest: bigint, s: bigint, nonce: Point, rTimesKey: Point): boolean {
  return nonce.multiplyUnsafe(s).equals(G.multiplyUnsafe(digest).add(rTimesKey));
}

/** Low-s form (EIP-2), flipping the recovery parity when s is negated. */
export function normaliseSignature(r: bigint, s: bigint, recoveryBits: number): { r: bigint; s: bigint; recoveryBits: number } {
  if (s > CURVE_ORDER >> 1n) return { r, s: Fn.neg(s), recoveryBits: recoveryBits ^ 1 };
  return { r, s, recoveryBits };
}
