/**
 * Keyed BLAKE3 in XOF mode for inputs of at most one block (64 bytes). The
 * output is exactly BLAKE3's (prf.test.ts checks it against @noble/hashes'
 * blake3). Hand-written because the OT rows need tens of thousands of
 * single-block calls per signature, and both the per-call hasher set-up and
 * @noble/hashes' compression (which allocates an object per G step) cost more
 * than the hashing itself. This compression keeps the state in locals and
 * allocates nothing.
 */

const IV = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a]);
/** Message word order of each of the 7 rounds: the BLAKE3 permutation applied round after round. */
const SCHEDULE = (() => {
  const permute = (row: number[]) => [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8].map((i) => row[i]!);
  const rows: number[] = [];
  for (let round = 0, row = Array.from({ length: 16 }, (_, i) => i); round < 7; round++, row = permute(row)) rows.push(...row);
  return Uint8Array.from(rows);
})();
// CHUNK_START | CHUNK_END | ROOT | KEYED_HASH
const FLAGS = 0b11011;
const littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** One BLAKE3 compression of block m under chaining value k, writing the 16-word XOF output to out at offset o. */
function compressInto(k: Uint32Array, m: Uint32Array, counter: number, blockLength: number, out: Uint32Array, at: number): void {
  const s = SCHEDULE;
  let v0 = k[0]!, v1 = k[1]!, v2 = k[2]!, v3 = k[3]!, v4 = k[4]!, v5 = k[5]!, v6 = k[6]!, v7 = k[7]!;
  let v8 = IV[0]!, v9 = IV[1]!, v10 = IV[2]!, v11 = IV[3]!;
  let v12 = counter | 0, v13 = 0, v14 = blockLength | 0, v15 = FLAGS;
  for (let o = 0; o < 112; o += 16) {
    v0 = (v0 + v4 + m[s[o + 0]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + m[s[o + 1]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 7) | (v4 << 25);
    v1 = (v1 + v5 + m[s[o + 2]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + m[s[o + 3]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 7) | (v5 << 25);
    v2 = (v2 + v6 + m[s[o + 4]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + m[s[o + 5]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 7) | (v6 << 25);
    v3 = (v3 + v7 + m[s[o + 6]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + m[s[o + 7]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 7) | (v7 << 25);
    v0 = (v0 + v5 + m[s[o + 8]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + m[s[o + 9]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 7) | (v5 << 25);
    v1 = (v1 + v6 + m[s[o + 10]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + m[s[o + 11]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 7) | (v6 << 25);
    v2 = (v2 + v7 + m[s[o + 12]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + m[s[o + 13]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 7) | (v7 << 25);
    v3 = (v3 + v4 + m[s[o + 14]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + m[s[o + 15]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 7) | (v4 << 25);
  }
  out[at] = v0 ^ v8;
  out[at + 1] = v1 ^ v9;
  out[at + 2] = v2 ^ v10;
  out[at + 3] = v3 ^ v11;
  out[at + 4] = v4 ^ v12;
  out[at + 5] = v5 ^ v13;
  out[at + 6] = v6 ^ v14;
  out[at + 7] = v7 ^ v15;
  out[at + 8] = k[0]! ^ v8;
  out[at + 9] = k[1]! ^ v9;
  out[at + 10] = k[2]! ^ v10;
  out[at + 11] = k[3]! ^ v11;
  out[at + 12] = k[4]! ^ v12;
  out[at + 13] = k[5]! ^ v13;
  out[at + 14] = k[6]! ^ v14;
  out[at + 15] = k[7]! ^ v15;
}

export class KeyedBlake3 {
  private readonly key = new Uint32Array(8);
  private readonly keyBytes = new Uint8Array(this.key.buffer);
  private readonly block = new Uint8Array(64);
  private readonly words = new Uint32Array(this.block.buffer);

  constructor(key: Uint8Array) {
    if (!littleEndian) throw new Error('KeyedBlake3 needs a little-endian platform');
    this.rekey(key);
  }

  /** Switches to another key: hot loops keep one instance instead of allocating one per key. */
  rekey(key: Uint8Array): this {
    if (key.length !== 32) throw new RangeError('BLAKE3 key must be 32 bytes');
    this.keyBytes.set(key);
    return this;
  }

  /** BLAKE3-keyed(key, input) truncated to out.length bytes (out.length a multiple of 64, out 4-byte aligned). */
  xofInto(input: Uint8Array, out: Uint8Array): void {
    if (input.length > 64) throw new RangeError('input longer than one block');
    if (out.length % 64 !== 0 || out.byteOffset % 4 !== 0) throw new RangeError('output must be whole, aligned blocks');
    this.block.fill(0);
    this.block.set(input);
    const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length / 4);
    for (let counter = 0; counter * 16 < out32.length; counter++) compressInto(this.key, this.words, counter, input.length, out32, counter * 16);
  }
}

