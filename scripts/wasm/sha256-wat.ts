/**
 * Generates the WebAssembly text of SHA-256's compression function (FIPS 180-4) over whole
 * 64-byte blocks, for src/mpc/wasm/sha256.ts. Written here because the protocol's transcripts
 * hash ~100 KB per signature and @noble/hashes' JavaScript SHA-256 ran at ~150 MB/s (a tenth of a
 * co-signer's CPU per signature), while WebAssembly SHA-256 libraries on npm (hash-wasm) only
 * instantiate asynchronously, and the protocol's hashing is synchronous.
 *
 * sha256_blocks(state, data, blocks): state is 8 words in memory (native little-endian i32), data
 * is `blocks` consecutive 64-byte blocks; the schedule and rounds are unrolled into locals.
 */

import { byteSwap32, get, range, set } from './wat.js';

function integerRoot(value: bigint, degree: bigint): bigint {
  // Newton's method from above: exact floor of the root for any positive integer.
  let x = 1n << (BigInt(value.toString(2).length) / degree + 1n);
  for (;;) {
    const next = ((degree - 1n) * x + value / x ** (degree - 1n)) / degree;
    if (next >= x) return x;
    x = next;
  }
}

function firstPrimes(count: number): bigint[] {
  const primes: bigint[] = [];
  for (let candidate = 2n; primes.length < count; candidate++) if (primes.every((p) => candidate % p !== 0n)) primes.push(candidate);
  return primes;
}

/** K: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const ROUND_CONSTANTS = firstPrimes(64).map((p) => Number(integerRoot(p << 96n, 3n) & 0xffffffffn));

const rotr = (value: string, bits: number) => `(i32.rotr ${value} (i32.const ${bits}))`;
const xor = (...values: string[]) => values.reduce((all, value) => `(i32.xor ${all} ${value})`);
const add = (...values: string[]) => values.reduce((sum, value) => `(i32.add ${sum} ${value})`);
/** The big-endian word at `offset` of the block: a load and a byte swap. */
const bigEndianWord = (offset: number) => {
  const word = `(i32.load offset=${offset} (local.get $data))`;
  return byteSwap32(word);
};

function compressBlock(): string[] {
  const out: string[] = [];
  for (let t = 0; t < 16; t++) out.push(set(`w${t}`, bigEndianWord(4 * t)));
  for (let t = 16; t < 64; t++) {
    const s0 = xor(rotr(get(`w${t - 15}`), 7), rotr(get(`w${t - 15}`), 18), `(i32.shr_u ${get(`w${t - 15}`)} (i32.const 3))`);
    const s1 = xor(rotr(get(`w${t - 2}`), 17), rotr(get(`w${t - 2}`), 19), `(i32.shr_u ${get(`w${t - 2}`)} (i32.const 10))`);
    out.push(set(`w${t}`, add(get(`w${t - 16}`), s0, get(`w${t - 7}`), s1)));
  }
  const letters = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  letters.forEach((letter, i) => out.push(set(letter, get(`h${i}`))));
  for (let t = 0; t < 64; t++) {
    const sigma1 = xor(rotr(get('e'), 6), rotr(get('e'), 11), rotr(get('e'), 25));
    const choose = xor(`(i32.and ${get('e')} ${get('f')})`, `(i32.and (i32.xor ${get('e')} (i32.const -1)) ${get('g')})`);
    const sigma0 = xor(rotr(get('a'), 2), rotr(get('a'), 13), rotr(get('a'), 22));
    const majority = xor(`(i32.and ${get('a')} ${get('b')})`, `(i32.and ${get('a')} ${get('c')})`, `(i32.and ${get('b')} ${get('c')})`);
    out.push(
      set('t1', add(get('h'), sigma1, choose, `(i32.const ${ROUND_CONSTANTS[t]! | 0})`, get(`w${t}`))),
      set('t2', add(sigma0, majority)),
      set('h', get('g')),
      set('g', get('f')),
      set('f', get('e')),
      set('e', add(get('d'), get('t1'))),
      set('d', get('c')),
      set('c', get('b')),
      set('b', get('a')),
      set('a', add(get('t1'), get('t2'))),
    );
  }
  letters.forEach((letter, i) => out.push(set(`h${i}`, add(get(`h${i}`), get(letter)))));
  return out;
}

export function sha256BlocksFunction(): string {
  const locals = [...range(64).map((t) => `(local $w${t} i32)`), ...range(8).map((i) => `(local $h${i} i32)`), ...['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 't1', 't2'].map((l) => `(local $${l} i32)`)].join(' ');
  const body = [
    ...range(8).map((i) => set(`h${i}`, `(i32.load offset=${4 * i} (local.get $state))`)),
    `(block $done (loop $next
    (br_if $done (i32.eqz (local.get $blocks)))
    ${compressBlock().join('\n    ')}
    (local.set $data (i32.add (local.get $data) (i32.const 64)))
    (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
    (br $next)))`,
    ...range(8).map((i) => `(i32.store offset=${4 * i} (local.get $state) ${get(`h${i}`)})`),
  ];
  return `(func $sha256_blocks (export "sha256_blocks") (param $state i32) (param $data i32) (param $blocks i32) ${locals}\n  ${body.join('\n  ')})`;
}
