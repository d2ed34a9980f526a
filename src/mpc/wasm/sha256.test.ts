import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '../bytes.js';
import { Sha256 } from './sha256.js';

const sha256Wasm = (data: Uint8Array) => new Sha256().update(data).digest();

const ascii = (text: string) => new TextEncoder().encode(text);

describe('Sha256', () => {
  it('gives the FIPS 180-4 example digests', () => {
    expect(bytesToHex(sha256Wasm(ascii('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(bytesToHex(sha256Wasm(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(bytesToHex(sha256Wasm(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches @noble/hashes at every length around the block and padding boundaries, and across its copy chunks', () => {
    for (const length of [...Array.from({ length: 200 }, (_, i) => i), 1000, 16383, 16384, 16385, 40_000, 70_001]) {
      const data = randomBytes(length);
      expect(sha256Wasm(data)).toEqual(sha256(data));
    }
  });

  it('gives the same digest however the input is split into updates, with hashers interleaved', () => {
    for (let run = 0; run < 30; run++) {
      const data = randomBytes(50 + run * 97);
      const first = new Sha256();
      const second = new Sha256();
      let offset = 0;
      while (offset < data.length) {
        const step = 1 + (data[offset]! % 70);
        first.update(data.subarray(offset, offset + step));
        second.update(data.subarray(offset, offset + step));
        offset += step;
      }
      expect(first.digest()).toEqual(sha256(data));
      expect(second.digest()).toEqual(sha256(data));
    }
  });

  it('refuses to be used after its digest', () => {
    const hasher = new Sha256().update(ascii('abc'));
    hasher.digest();
    expect(() => hasher.update(ascii('d'))).toThrow();
    expect(() => hasher.digest()).toThrow();
  });
});
