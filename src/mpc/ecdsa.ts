import { CURVE_ORDER, Fn, mulBaseAndKeyPublic, type Point } from './curve.js';

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
 * ECDSA verification that also pins the nonce point: (m/s)G + (r/s)Y must equal R itself,
 * not just share its x coordinate, so the recovery id taken from R is right too.
 * `publicKey` should come from keyPoint(): its multiplication table is kept with it.
 */
export function verifyWithNonce(digest: bigint, r: bigint, s: bigint, nonce: Point, publicKey: Point): boolean {
  const w = Fn.inv(s);
  return mulBaseAndKeyPublic(Fn.mul(digest, w), publicKey, Fn.mul(r, w)).equals(nonce);
}

/** Low-s form (EIP-2), flipping the recovery parity when s is negated. */
export function normaliseSignature(r: bigint, s: bigint, recoveryBits: number): { r: bigint; s: bigint; recoveryBits: number } {
  if (s > CURVE_ORDER >> 1n) return { r, s: Fn.neg(s), recoveryBits: recoveryBits ^ 1 };
  return { r, s, recoveryBits };
}
