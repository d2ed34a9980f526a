import { describe, expect, it } from 'vitest';
import { randomId, uuidFromRandomBytes } from './random-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomId', () => {
  it('returns distinct v4 UUIDs', () => {
    const a = randomId();
    expect(a).toMatch(UUID_V4);
    expect(randomId()).not.toBe(a);
  });

  it('builds a v4 UUID from 16 bytes when randomUUID is missing, setting version and variant bits', () => {
    expect(uuidFromRandomBytes(new Uint8Array(16).fill(0xff))).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(uuidFromRandomBytes(new Uint8Array(16))).toBe('00000000-0000-4000-8000-000000000000');
    expect(() => uuidFromRandomBytes(new Uint8Array(15))).toThrow(RangeError);
  });
});
