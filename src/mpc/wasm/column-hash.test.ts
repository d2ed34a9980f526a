import { describe, expect, it } from 'vitest';
import { randomBytes } from '../bytes.js';
import { pointEngine } from './engine.js';

/** The definition: XOR of the 32-byte matrix rows whose bit is set in the column, then XOR the column's 32 padding bytes. */
function referenceHash(matrix: Uint8Array, rows: number, column: Uint8Array): Uint8Array {
  const out = column.slice(rows / 8, rows / 8 + 32);
  for (let row = 0; row < rows; row++) {
    if ((column[row >> 3]! >> (row & 7)) & 1) for (let i = 0; i < 32; i++) out[i]! ^= matrix[row * 32 + i]!;
  }
  return out;
}

describe('hash_columns', () => {
  it('matches the definition for random, empty and full columns', () => {
    const engine = pointEngine();
    for (const rows of [8, 256, 416]) {
      const stride = rows / 8 + 32;
      const columns = [new Uint8Array(stride), new Uint8Array(stride).fill(0xff), ...Array.from({ length: 7 }, () => randomBytes(stride))];
      const matrix = randomBytes(rows * 32);
      const matrixAt = engine.allocate(matrix.length);
      const columnsAt = engine.allocate(columns.length * stride);
      const out = engine.allocate(columns.length * 32);
      engine.bytes.set(matrix, matrixAt);
      columns.forEach((column, c) => engine.bytes.set(column, columnsAt + c * stride));
      engine.hash_columns(matrixAt, rows, columnsAt, stride, columns.length, out);
      columns.forEach((column, c) => expect(engine.bytes.slice(out + c * 32, out + (c + 1) * 32)).toEqual(referenceHash(matrix, rows, column)));
    }
  });
});
