/**
 * Keyed BLAKE3 in XOF mode for inputs of at most one block (64 bytes), driven
 * straight through @noble/hashes' BLAKE3 compression function. The output is
 * exactly BLAKE3's (prf.test.ts checks it against @noble/hashes' blake3);
 * this path only drops the per-call hasher set-up, which dominated the OT
 * row hashing (thousands of calls per signature).
 */
import { _compress } from '@noble/hashes/blake2.js';

const IV = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a]);
const SIGMA = (() => {
  const permute = (row: number[]) => [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8].map((i) => row[i]!);
  const rows: number[] = [];
  for (let round = 0, row = Array.from({ length: 16 }, (_, i) => i); round < 7; round++, row = permute(row)) rows.push(...row);
  return Uint8Array.from(rows);
})();
// CHUNK_START | CHUNK_END | ROOT | KEYED_HASH
const FLAGS = 0b11011;
const littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

export class KeyedBlake3 {
  private readonly key: Uint32Array;
  private readonly block = new Uint8Array(64);
  private readonly words = new Uint32Array(this.block.buffer);

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError('BLAKE3 key must be 32 bytes');
    if (!littleEndian) throw new Error('KeyedBlake3 needs a little-endian platform');
    this.key = new Uint32Array(key.slice().buffer);
  }

  /** BLAKE3-keyed(key, input) truncated to out.length bytes (out.length a multiple of 64). */
  xofInto(input: Uint8Array, out: Uint8Array): void {
    if (input.length > 64) throw new RangeError('input longer than one block');
    if (out.length % 64 !== 0) throw new RangeError('output must be whole blocks');
    this.block.fill(0);
    this.block.set(input);
    const k = this.key;
    const m = this.words;
    const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length / 4);
    for (let counter = 0; counter * 64 < out.length; counter++) {
      const v = _compress(SIGMA, 0, m, 7, k[0]!, k[1]!, k[2]!, k[3]!, k[4]!, k[5]!, k[6]!, k[7]!, IV[0]!, IV[1]!, IV[2]!, IV[3]!, counter, 0, input.length, FLAGS);
      const o = counter * 16;
      out32[o] = v.v0 ^ v.v8;
      out32[o + 1] = v.v1 ^ v.v9;
      out32[o + 2] = v.v2 ^ v.v10;
      out32[o + 3] = v.v3 ^ v.v11;
      out32[o + 4] = v.v4 ^ v.v12;
      out32[o + 5] = v.v5 ^ v.v13;
      out32[o + 6] = v.v6 ^ v.v14;
      out32[o + 7] = v.v7 ^ v.v15;
      out32[o + 8] = k[0]! ^ v.v8;
      out32[o + 9] = k[1]! ^ v.v9;
      out32[o + 10] = k[2]! ^ v.v10;
      out32[o + 11] = k[3]! ^ v.v11;
      out32[o + 12] = k[4]! ^ v.v12;
      out32[o + 13] = k[5]! ^ v.v13;
      out32[o + 14] = k[6]! ^ v.v14;
      out32[o + 15] = k[7]! ^ v.v15;
    }
  }
}
