/**
 * EIP-747 wallet_watchAsset params for an ERC-20: { type: 'ERC20', options: { address, symbol, decimals, image? } },
 * sent as that object (EIP-747, viem) or as a one-element array (some libraries). Malformed: -32602.
 */
import { getAddress, isAddress, type Address } from 'viem';
import { invalidParams } from '../errors.js';
import { clip, describeKind, expectObject, rejectUnknownKeys } from '../requests/param-checks.js';

export const MAX_SYMBOL_LENGTH = 11;
export const MAX_DECIMALS = 36;
const MAX_IMAGE_URL = 2048;

export interface WatchAssetInput {
  address: Address;
  symbol: string;
  decimals: number;
  image?: string;
}

export function parseWatchAsset(params: unknown): WatchAssetInput {
  const method = 'wallet_watchAsset';
  let param = params;
  if (Array.isArray(params)) {
    if (params.length !== 1) throw invalidParams(`${method} expects { type: 'ERC20', options: { address, symbol, decimals, image? } }.`);
    param = params[0];
  }
  const object = expectObject(param, `${method} params`);
  rejectUnknownKeys(object, ['type', 'options'], `${method} params`);
  if (object.type !== 'ERC20') throw invalidParams(`${method} type ${describeKind(object.type)} is not supported; Tandem watches "ERC20" tokens only.`);
  const options = expectObject(object.options, `${method} options`);
  rejectUnknownKeys(options, ['address', 'symbol', 'decimals', 'image'], `${method} options`);

  const address = options.address;
  if (typeof address !== 'string' || !isAddress(address, { strict: false })) throw invalidParams(`${method} options.address must be a 0x-prefixed 20-byte address, got ${describeKind(address)}.`);
  // Mixed case is an EIP-55 checksum, and a wrong one means a mistyped address.
  const mixedCase = address.slice(2) !== address.slice(2).toLowerCase() && address.slice(2) !== address.slice(2).toUpperCase();
  if (mixedCase && !isAddress(address, { strict: true })) throw invalidParams(`${method} options.address "${clip(address)}" has a wrong EIP-55 checksum.`);

  const symbol = options.symbol;
  if (typeof symbol !== 'string') throw invalidParams(`${method} options.symbol must be a string, got ${describeKind(symbol)}.`);
  const trimmed = symbol.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_SYMBOL_LENGTH) throw invalidParams(`${method} options.symbol must be 1 to ${MAX_SYMBOL_LENGTH} characters, got ${trimmed.length}.`);
  if (/[\p{Cc}\p{Cf}]/u.test(trimmed)) throw invalidParams(`${method} options.symbol contains control or formatting characters.`);

  const decimals = typeof options.decimals === 'string' && /^\d{1,2}$/.test(options.decimals) ? Number(options.decimals) : options.decimals;
  if (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw invalidParams(`${method} options.decimals must be an integer from 0 to ${MAX_DECIMALS}, got ${describeKind(options.decimals)}.`);
  }

  const input: WatchAssetInput = { address: getAddress(address), symbol: trimmed, decimals };
  if (options.image !== undefined && options.image !== null) {
    if (typeof options.image !== 'string' || options.image.length > MAX_IMAGE_URL || !/^(https:\/\/|data:image\/)/.test(options.image)) {
      throw invalidParams(`${method} options.image must be an https: or data:image/ URL of at most ${MAX_IMAGE_URL} characters.`);
    }
    input.image = options.image;
  }
  return input;
}

