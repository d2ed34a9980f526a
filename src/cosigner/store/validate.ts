import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { DEVICE_ID_PATTERN, WALLET_ID_PATTERN } from '../../channel/topics.js';
import { InvalidRecordError } from './errors.js';
import type { WalletParties } from './types.js';

/** Checks on everything the store writes. Each returns the canonical form that is stored. */

export function walletId(value: unknown): string {
  if (typeof value !== 'string' || !WALLET_ID_PATTERN.test(value)) {
    throw new InvalidRecordError(`A wallet id is 32 lowercase hex characters; got ${show(value)}.`);
  }
  return value;
}

export function deviceId(value: unknown): string {
  if (typeof value !== 'string' || !DEVICE_ID_PATTERN.test(value)) {
    throw new InvalidRecordError(`A device id is 32 lowercase hex characters; got ${show(value)}.`);
  }
  return value;
}

/** A compressed secp256k1 key: 02 or 03 and 32 bytes, as 66 hex characters (0x and case tolerated). */
export function identityPublicKey(value: unknown): string {
  const hex = typeof value === 'string' ? value.replace(/^0x/, '').toLowerCase() : '';
  if (!/^0[23][0-9a-f]{64}$/.test(hex)) {
    throw new InvalidRecordError(`An identity public key is a 33-byte compressed secp256k1 key in hex; got ${show(value)}.`);
  }
  return hex;
}

/** The wallet's group key: 33 bytes compressed or 65 uncompressed, stored as lowercase 0x hex. */
export function groupPublicKey(value: unknown): Hex {
  const hex = typeof value === 'string' ? value.replace(/^0x/, '').toLowerCase() : '';
  if (!/^0[23][0-9a-f]{64}$/.test(hex) && !/^04[0-9a-f]{128}$/.test(hex)) {
    throw new InvalidRecordError(`A group public key is a 33- or 65-byte secp256k1 key in hex; got ${show(value)}.`);
  }
  return `0x${hex}`;
}

/** A transaction digest: 32 bytes as 0x and 64 lowercase hex characters (case tolerated). */
export function txDigest(value: unknown): Hex {
  const hex = typeof value === 'string' ? value.replace(/^0x/, '').toLowerCase() : '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new InvalidRecordError(`A transaction digest is 32 bytes in hex; got ${show(value)}.`);
  return `0x${hex}`;
}

export function address(value: unknown): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new InvalidRecordError(`Not an address: ${show(value)}.`);
  }
  return getAddress(value);
}

export function parties(threshold: unknown, value: unknown): { text: '[1,2]' | '[1,2,3]'; parties: WalletParties } {
  if (threshold !== 2) throw new InvalidRecordError(`Wallets are 2-of-2 or 2-of-3: threshold must be 2; got ${show(threshold)}.`);
  const text = Array.isArray(value) ? JSON.stringify(value) : '';
  if (text === '[1,2]') return { text, parties: [1, 2] };
  if (text === '[1,2,3]') return { text, parties: [1, 2, 3] };
  throw new InvalidRecordError(`Wallet parties are [1,2] (2-of-2) or [1,2,3] (2-of-3); got ${show(value)}.`);
}

export function generation(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRecordError(`A share generation is a non-negative integer; got ${show(value)}.`);
  }
  return value;
}

/** Presignature ids name a presigning session: 1-128 characters of [A-Za-z0-9_-]. */
export function presignatureId(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(value)) {
    throw new InvalidRecordError(`A presignature id is 1-128 characters of A-Z, a-z, 0-9, _ and -; got ${show(value)}.`);
  }
  return value;
}

export function secretText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidRecordError(`The ${what} must be a non-empty string.`);
  return value;
}

export function chainId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidRecordError(`A chain id is a positive integer; got ${show(value)}.`);
  }
  return value;
}

export function weiValue(value: unknown): bigint {
  if (typeof value !== 'bigint' || value < 0n) throw new InvalidRecordError(`A value in wei is a non-negative bigint; got ${show(value)}.`);
  return value;
}

export function timestamp(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRecordError(`A timestamp is milliseconds since the epoch; got ${show(value)}.`);
  }
  return value;
}

export function shortText(value: unknown, what: string, max = 500): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw new InvalidRecordError(`The ${what} must be a non-empty string of at most ${max} characters.`);
  }
  return value;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
