/**
 * OT parameters. KAPPA base OTs give the extension sender a 128-bit secret
 * correlation, matching the 128-bit security of secp256k1. CHECK_BITS is the
 * width of the extension's consistency check and of the random padding rows
 * that hide the receiver's choices from it (KOS15 with the 2022/192 fix needs
 * at least KAPPA + 80).
 */
export const KAPPA = 128;
export const KAPPA_BYTES = KAPPA / 8;
export const CHECK_BITS = 256;
export const CHECK_BYTES = CHECK_BITS / 8;
export const SEED_BYTES = 32;

/** Base-OT material as the extension receiver sees it: both seeds of every base OT. */
export interface OtReceiverSetup {
  seeds0: Uint8Array; // KAPPA * SEED_BYTES
  seeds1: Uint8Array; // KAPPA * SEED_BYTES
}

/** Base-OT material as the extension sender sees it: its secret correlation and the chosen seeds. */
export interface OtSenderSetup {
  delta: Uint8Array; // KAPPA_BYTES, bit k is the choice of base OT k
  seeds: Uint8Array; // KAPPA * SEED_BYTES
}

export function seedAt(seeds: Uint8Array, index: number): Uint8Array {
  return seeds.subarray(index * SEED_BYTES, (index + 1) * SEED_BYTES);
}

export function bitAt(bytes: Uint8Array, index: number): number {
  return (bytes[index >> 3]! >> (index & 7)) & 1;
}
