import { describe, expect, it } from 'vitest';
import { u32be } from './bytes.js';

describe('u32be', () => {
  it.each([0, 1, 255, 256, 65_535, 0x12345678, 0xffffffff, -1, 2 ** 32 + 5])('writes %i as four big-endian bytes of its low 32 bits', (value) => {
    const expected = new Uint8Array(4);
    new DataView(expected.buffer).setUint32(0, value >>> 0);
    expect([...u32be(value)]).toEqual([...expected]);
  });

  it('gives a plain 4-byte array', () => {
    const bytes = u32be(0x01020304);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.byteLength).toBe(4);
    expect(bytes.buffer.byteLength).toBe(4);
    expect([...bytes]).toEqual([1, 2, 3, 4]);
  });
});
