import { describe, expect, it } from 'vitest';
import { blake3 } from '@noble/hashes/blake3.js';
import { randomBytes } from '../bytes.js';
import { pointEngine } from './engine.js';

describe('row_pads', () => {
  it('gives keyed BLAKE3 of (index as 4 big-endian bytes, row XOR flip), 128 bytes per row', () => {
    const engine = pointEngine();
    const count = 300;
    const key = randomBytes(32);
    const rows = randomBytes(count * 16);
    for (const flip of [new Uint8Array(16), randomBytes(16)]) {
      const [keyAt, rowsAt, flipAt, out] = [engine.allocate(32), engine.allocate(rows.length), engine.allocate(16), engine.allocate(count * 128)];
      engine.bytes.set(key, keyAt);
      engine.bytes.set(rows, rowsAt);
      engine.bytes.set(flip, flipAt);
      engine.row_pads(keyAt, rowsAt, flipAt, count, out);
      for (const j of [0, 1, 255, 256, count - 1]) {
        const input = new Uint8Array(20);
        new DataView(input.buffer).setUint32(0, j);
        for (let i = 0; i < 16; i++) input[4 + i] = rows[16 * j + i]! ^ flip[i]!;
        expect(engine.bytes.slice(out + 128 * j, out + 128 * (j + 1))).toEqual(blake3(input, { key, dkLen: 128 }));
      }
    }
  });
});
