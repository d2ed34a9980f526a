/**
 * The small checks every request parser is built from. Each throws invalidParams (-32602) with a
 * message that says which value is wrong and what was expected, so a dapp developer can fix the call.
 */
import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { invalidParams } from '../errors.js';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** `params` must be an array of between `min` and `max` entries. */
export function expectParamsArray(method: string, params: unknown, min: number, max: number, shape: string): unknown[] {
  if (!Array.isArray(params)) throw invalidParams(`${method} expects params to be an array ${shape}.`);
  if (params.length < min || params.length > max) {
    throw invalidParams(`${method} expects ${shape}, got ${params.length} param${params.length === 1 ? '' : 's'}.`);
  }
  return params;
}

export function expectObject(value: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidParams(`${what} must be an object, got ${describeKind(value)}.`);
  return value;
}

/** Keys a dapp sends that we would otherwise silently ignore, where ignoring them would change what gets done. */
export function rejectUnknownKeys(object: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const unknown = Object.keys(object).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw invalidParams(`${what} has unexpected field${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed.join(', ')}.`);
  }
}

export function looksLikeAddress(value: unknown): value is string {
  return typeof value === 'string' && isAddress(value, { strict: false });
}

/** Checksummed or all-lowercase (or all-uppercase) addresses; returned checksummed. */
export function parseAddress(value: unknown, what: string): Address {
  if (typeof value !== 'string') throw invalidParams(`${what} must be a 0x-prefixed 20-byte address string, got ${describeKind(value)}.`);
  if (!isAddress(value, { strict: false })) throw invalidParams(`${what} is not a valid address: expected 0x followed by 40 hex digits, got "${clip(value)}".`);
  return getAddress(value);
}

const HEX_DIGITS = /^0x[0-9a-fA-F]+$/;

/** 0x-prefixed bytes with an even number of digits ('0x' is empty data), at most `maxBytes` long. Returned lowercase. */
export function parseHexData(value: unknown, what: string, maxBytes: number): Hex {
  if (typeof value !== 'string') throw invalidParams(`${what} must be a 0x-prefixed hex string, got ${describeKind(value)}.`);
  if (!value.startsWith('0x')) throw invalidParams(`${what} must start with 0x, got "${clip(value)}".`);
  if (!/^0x[0-9a-fA-F]*$/.test(value)) throw invalidParams(`${what} contains characters that are not hex digits.`);
  if ((value.length - 2) % 2 !== 0) throw invalidParams(`${what} has an odd number of hex digits; bytes need two digits each.`);
  const bytes = (value.length - 2) / 2;
  if (bytes > maxBytes) throw invalidParams(`${what} is ${bytes} bytes; at most ${maxBytes} are accepted.`);
  return value.toLowerCase() as Hex;
}

/**
 * A JSON-RPC quantity ('0x' then hex digits). Leading zeros are tolerated here because widely used
 * libraries (ethers v5 BigNumber.toHexString) pad to whole bytes and dapps pass that straight through.
 */
export function parseQuantity(value: unknown, what: string, max: bigint = MAX_UINT256): bigint {
  if (typeof value !== 'string') throw invalidParams(`${what} must be a 0x-prefixed hex quantity string, got ${describeKind(value)}.`);
  if (!HEX_DIGITS.test(value)) throw invalidParams(`${what} must be a 0x-prefixed hex quantity like "0x1a", got "${clip(value)}".`);
  if (value.length > 2 + 64 + 64) throw invalidParams(`${what} is too long to be a quantity.`);
  const quantity = BigInt(value);
  if (quantity > max) throw invalidParams(`${what} is ${quantity}, above the maximum ${max}.`);
  return quantity;
}

/** A quantity that must fit a JavaScript number (nonces, chain ids). */
export function parseSmallQuantity(value: unknown, what: string): number {
  return Number(parseQuantity(value, what, BigInt(Number.MAX_SAFE_INTEGER)));
}

export const MAX_UINT256 = (1n << 256n) - 1n;

export function describeKind(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string "${clip(value)}"`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`;
  return `a ${typeof value}`;
}

/** Keeps error messages short when a dapp sends something huge. */
export function clip(text: string, max = 48): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
