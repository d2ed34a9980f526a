/**
 * Keyed BLAKE3 in XOF mode for inputs of at most one block (64 bytes). The
 * output is exactly BLAKE3's (prf.test.ts checks it against @noble/hashes'
 * blake3). Hand-written because the OT rows need tens of thousands of
 * single-block calls per signature, and both the per-call hasher set-up and
 * @noble/hashes' compression cost more than the hashing itself; the
 * compressions run in the WebAssembly module (scripts/wasm/blake3-wat.ts).
 */
import { moduleArea, type PointEngine } from './wasm/engine.js';

/** Output blocks computed per call into the module when the caller's output lies outside its memory. */
const CHUNK_BLOCKS = 64;

interface Area {
  engine: PointEngine;
  key: number;
  block: number;
  out: number;
}
const xofArea = moduleArea((engine): Area => ({ engine, key: engine.allocate(32), block: engine.allocate(64), out: engine.allocate(CHUNK_BLOCKS * 64) }));

export class KeyedBlake3 {
  private readonly key = new Uint8Array(32);

  constructor(key: Uint8Array) {
    this.rekey(key);
  }

  /** Switches to another key: hot loops keep one instance instead of allocating one per key. */
  rekey(key: Uint8Array): this {
    if (key.length !== 32) throw new RangeError('BLAKE3 key must be 32 bytes');
    this.key.set(key);
    return this;
  }

  /**
   * BLAKE3-keyed(key, input) truncated to out.length bytes (out.length a multiple of 64, out
   * 4-byte aligned). An output inside the module's memory is written in place.
   */
  xofInto(input: Uint8Array, out: Uint8Array): void {
    if (input.length > 64) throw new RangeError('input longer than one block');
    if (out.length % 64 !== 0 || out.byteOffset % 4 !== 0) throw new RangeError('output must be whole, aligned blocks');
    const { engine, key, block, out: scratch } = xofArea();
    const memory = engine.bytes;
    memory.set(this.key, key);
    memory.fill(0, block, block + 64);
    memory.set(input, block);
    const blocks = out.length / 64;
    if (out.buffer === memory.buffer) {
      engine.blake3_xof(key, block, input.length, out.byteOffset, 0, blocks);
    } else {
      for (let counter = 0; counter < blocks; counter += CHUNK_BLOCKS) {
        const count = Math.min(CHUNK_BLOCKS, blocks - counter);
        engine.blake3_xof(key, block, input.length, scratch, counter, count);
        out.set(memory.subarray(scratch, scratch + count * 64), counter * 64);
      }
      memory.fill(0, scratch, scratch + Math.min(blocks, CHUNK_BLOCKS) * 64);
    }
    // Keys are OT seeds and outputs one-time pads: neither stays in the module's memory.
    memory.fill(0, key, key + 32);
    memory.fill(0, block, block + 64);
  }
}
