import { bytesToHex, hexToBytes } from './bytes.js';
import { InvalidArgumentError } from './errors.js';

/**
 * Party state is plain data (numbers, strings, bigint, Uint8Array, arrays,
 * objects). JSON cannot carry bigint or bytes, so they are tagged.
 */
export function stateToJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return { $big: item.toString(16) };
    if (item instanceof Uint8Array) return { $bytes: bytesToHex(item) };
    return item;
  });
}

export function stateFromJson<T>(json: string): T {
  try {
    return JSON.parse(json, (_key, item: unknown) => {
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        const record = item as Record<string, unknown>;
        if (typeof record.$big === 'string') return BigInt(`0x${record.$big}`);
        if (typeof record.$bytes === 'string') return hexToBytes(record.$bytes);
      }
      return item;
    }) as T;
  } catch (cause) {
    throw new InvalidArgumentError('Saved protocol state is not valid JSON.', (cause as Error).message);
  }
}
