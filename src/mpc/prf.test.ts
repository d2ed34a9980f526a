import { describe, expect, it } from 'vitest';
import { blake3 } from '@noble/hashes/blake3.js';
import { randomBytes } from './bytes.js';
import { KeyedBlake3 } from './prf.js';
import { pointEngine } from './wasm/engine.js';

describe('KeyedBlake3', () => {
  it('matches @noble/hashes blake3 in keyed XOF mode for every input length up to one block', () => {
    const key = randomBytes(32);
    const prf = new KeyedBlake3(key);
    for (let length = 0; length <= 64; length++) {
      const input = randomBytes(length);
      const out = new Uint8Array(192);
      prf.xofInto(input, out);
      expect(out).toEqual(blake3(input, { key, dkLen: 192 }));
    }
  });

  it('gives the same output after rekey() as a fresh instance under that key', () => {
    const prf = new KeyedBlake3(randomBytes(32));
    for (let i = 0; i < 5; i++) {
      const key = randomBytes(32);
      const input = randomBytes(20 + i);
      const reused = new Uint8Array(128);
      prf.rekey(key).xofInto(input, reused);
      expect(reused).toEqual(blake3(input, { key, dkLen: 128 }));
    }
    expect(() => prf.rekey(new Uint8Array(31))).toThrow(RangeError);
  });

  it('matches for outputs longer than its copy chunk, and for an output inside the module memory', () => {
    const key = randomBytes(32);
    const input = randomBytes(40);
    for (const blocks of [63, 64, 65, 208, 300]) {
      const out = new Uint8Array(blocks * 64);
      new KeyedBlake3(key).xofInto(input, out);
      expect(out).toEqual(blake3(input, { key, dkLen: blocks * 64 }));
    }
    const engine = pointEngine();
    const at = engine.allocate(256);
    new KeyedBlake3(key).xofInto(input, engine.bytes.subarray(at, at + 256));
    expect(engine.bytes.slice(at, at + 256)).toEqual(blake3(input, { key, dkLen: 256 }));
  });

  it('refuses inputs longer than one block', () => {
    expect(() => new KeyedBlake3(randomBytes(32)).xofInto(new Uint8Array(65), new Uint8Array(64))).toThrow(RangeError);
  });
});
