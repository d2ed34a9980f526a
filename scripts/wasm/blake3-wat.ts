/**
 * Generates the WebAssembly text of keyed BLAKE3 in XOF mode for one-block inputs, the PRF of
 * the OT extension and of the multiplication's pads (src/mpc/prf.ts): tens of thousands of
 * compressions per signature, the largest function left in a co-signer's profile when written in
 * JavaScript. The message schedule is resolved here, so the rounds read the block's words from
 * locals.
 *
 * blake3_xof(key, block, length, out, counter, blocks): compressions `counter` to
 * `counter + blocks - 1` of the 64-byte block (its first `length` bytes are the input, the rest
 * zero) under the 8-word key, with the flags of a keyed, single-chunk root, each writing its
 * 64 bytes of output to `out` in order. Words are little-endian, as BLAKE3's are.
 */

import { byteSwap32, get, range, set } from './wat.js';

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a];
// CHUNK_START | CHUNK_END | ROOT | KEYED_HASH
const FLAGS = 0b11011;
const PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

/** The message word order of each of the 7 rounds. */
function schedule(): number[][] {
  const rounds: number[][] = [];
  let order = range(16);
  for (let round = 0; round < 7; round++) {
    rounds.push(order);
    order = PERMUTATION.map((i) => order[i]!);
  }
  return rounds;
}

/** BLAKE3's quarter-round G on state words a, b, c, d with message words x, y. */
function quarterRound(a: number, b: number, c: number, d: number, x: number, y: number): string[] {
  const v = (i: number) => `v${i}`;
  const rotr = (i: number, bits: number) => set(v(i), `(i32.rotr ${get(v(i))} (i32.const ${bits}))`);
  return [
    set(v(a), `(i32.add (i32.add ${get(v(a))} ${get(v(b))}) ${get(`m${x}`)})`),
    set(v(d), `(i32.xor ${get(v(d))} ${get(v(a))})`),
    rotr(d, 16),
    set(v(c), `(i32.add ${get(v(c))} ${get(v(d))})`),
    set(v(b), `(i32.xor ${get(v(b))} ${get(v(c))})`),
    rotr(b, 12),
    set(v(a), `(i32.add (i32.add ${get(v(a))} ${get(v(b))}) ${get(`m${y}`)})`),
    set(v(d), `(i32.xor ${get(v(d))} ${get(v(a))})`),
    rotr(d, 8),
    set(v(c), `(i32.add ${get(v(c))} ${get(v(d))})`),
    set(v(b), `(i32.xor ${get(v(b))} ${get(v(c))})`),
    rotr(b, 7),
  ];
}

function compression(): string[] {
  const out: string[] = [
    ...range(8).map((i) => set(`v${i}`, get(`k${i}`))),
    ...IV.map((word, i) => set(`v${8 + i}`, `(i32.const ${word | 0})`)),
    set('v12', get('counter')),
    set('v13', '(i32.const 0)'),
    set('v14', get('length')),
    set('v15', `(i32.const ${FLAGS})`),
  ];
  for (const s of schedule()) {
    out.push(
      ...quarterRound(0, 4, 8, 12, s[0]!, s[1]!),
      ...quarterRound(1, 5, 9, 13, s[2]!, s[3]!),
      ...quarterRound(2, 6, 10, 14, s[4]!, s[5]!),
      ...quarterRound(3, 7, 11, 15, s[6]!, s[7]!),
      ...quarterRound(0, 5, 10, 15, s[8]!, s[9]!),
      ...quarterRound(1, 6, 11, 12, s[10]!, s[11]!),
      ...quarterRound(2, 7, 8, 13, s[12]!, s[13]!),
      ...quarterRound(3, 4, 9, 14, s[14]!, s[15]!),
    );
  }
  // The XOF output block: v_i ^ v_(i+8), then k_i ^ v_(i+8).
  for (let i = 0; i < 8; i++) out.push(`(i32.store offset=${4 * i} (local.get $out) (i32.xor ${get(`v${i}`)} ${get(`v${i + 8}`)}))`);
  for (let i = 0; i < 8; i++) out.push(`(i32.store offset=${32 + 4 * i} (local.get $out) (i32.xor ${get(`k${i}`)} ${get(`v${i + 8}`)}))`);
  return out;
}

export function blake3XofFunction(): string {
  const locals = [...range(16).map((i) => `(local $v${i} i32) (local $m${i} i32)`), ...range(8).map((i) => `(local $k${i} i32)`)].join(' ');
  const body = [
    ...range(8).map((i) => set(`k${i}`, `(i32.load offset=${4 * i} (local.get $key))`)),
    ...range(16).map((i) => set(`m${i}`, `(i32.load offset=${4 * i} (local.get $block))`)),
    `(block $done (loop $next
    (br_if $done (i32.eqz (local.get $blocks)))
    ${compression().join('\n    ')}
    (local.set $out (i32.add (local.get $out) (i32.const 64)))
    (local.set $counter (i32.add (local.get $counter) (i32.const 1)))
    (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
    (br $next)))`,
  ];
  return `(func $blake3_xof (export "blake3_xof") (param $key i32) (param $block i32) (param $length i32) (param $out i32) (param $counter i32) (param $blocks i32) ${locals}\n  ${body.join('\n  ')})`;
}

/**
 * row_pads(key, rows, flip, count, out): for each j < count, the 128 bytes of keyed BLAKE3 XOF
 * output of the 20-byte input (j as 4 big-endian bytes, then the 16-byte row j at `rows` XOR the
 * 16 bytes at `flip`), to out + 128 j: the multiplication's row pads (src/mpc/multiply.ts), one
 * call for all rows instead of one per row.
 */
export function rowPadsFunction(): string {
  const locals = [...range(16).map((i) => `(local $v${i} i32) (local $m${i} i32)`), ...range(8).map((i) => `(local $k${i} i32)`), '(local $counter i32) (local $length i32) (local $index i32)'].join(' ');
  const body = [
    ...range(8).map((i) => set(`k${i}`, `(i32.load offset=${4 * i} (local.get $key))`)),
    set('length', '(i32.const 20)'),
    `(block $done (loop $next
    (br_if $done (i32.ge_u (local.get $index) (local.get $count)))
    ${set('m0', byteSwap32(get('index')))}
    ${range(4)
      .map((i) => set(`m${i + 1}`, `(i32.xor (i32.load offset=${4 * i} (local.get $rows)) (i32.load offset=${4 * i} (local.get $flip)))`))
      .join('\n    ')}
    ${range(11)
      .map((i) => set(`m${i + 5}`, '(i32.const 0)'))
      .join('\n    ')}
    ${set('counter', '(i32.const 0)')}
    ${compression().join('\n    ')}
    (local.set $out (i32.add (local.get $out) (i32.const 64)))
    ${set('counter', '(i32.const 1)')}
    ${compression().join('\n    ')}
    (local.set $out (i32.add (local.get $out) (i32.const 64)))
    (local.set $rows (i32.add (local.get $rows) (i32.const 16)))
    (local.set $index (i32.add (local.get $index) (i32.const 1)))
    (br $next)))`,
  ];
  return `(func $row_pads (export "row_pads") (param $key i32) (param $rows i32) (param $flip i32) (param $count i32) (param $out i32) ${locals}\n  ${body.join('\n  ')})`;
}
