/**
 * Generates the WebAssembly text of the scalar sums of the two-party multiplication
 * (src/mpc/multiply.ts): products of 256-bit big-endian integers added into a wide accumulator,
 * and the reduction of that accumulator mod n. The multiplication's rows need ~400 such sums per
 * side, each a few BigInt products, a reduction and conversions from bytes (a tenth of a
 * co-signer's CPU per signature); here they run on 32-bit limbs with no BigInt, and without
 * branches on the values, which are one-time pads and secret.
 *
 * An accumulator is 18 little-endian 32-bit limbs (72 bytes): sums of up to 2^64 products fit.
 */

import { byteSwap32, get, high, low, range, set } from './wat.js';

export const ACCUMULATOR_LIMBS = 18;
/** n of secp256k1, and 2^256 - n, in little-endian 32-bit limbs. */
const N_LIMBS = [0xd0364141, 0xbfd25e8c, 0xaf48a03b, 0xbaaedce6, 0xfffffffe, 0xffffffff, 0xffffffff, 0xffffffff];
const C_LIMBS = [0x2fc9bebf, 0x402da173, 0x50b75fc4, 0x45512319, 0x1];

/** Limb i (least significant first) of the big-endian 256-bit integer at `pointer`, as an i64. */
function bigEndianLimb(pointer: string, i: number): string {
  const word = `(i32.load offset=${28 - 4 * i} ${get(pointer)})`;
  return `(i64.extend_i32_u ${byteSwap32(word)})`;
}

function storeBigEndianLimb(pointer: string, i: number, value: string): string {
  const word = `(i32.wrap_i64 ${value})`;
  return `(i32.store offset=${28 - 4 * i} ${get(pointer)} ${byteSwap32(word)})`;
}

/** acc += a * b, for big-endian 256-bit a and b. */
function scalarMultiplyAdd(): string {
  const body: string[] = [...range(8).map((i) => set(`a${i}`, bigEndianLimb('pa', i))), ...range(8).map((i) => set(`b${i}`, bigEndianLimb('pb', i)))];
  // The 512-bit product, as in fe_mul: a_i b_j + r + carry < 2^64.
  for (let i = 0; i < 8; i++) {
    body.push(set('c', '(i64.const 0)'));
    for (let j = 0; j < 8; j++) {
      body.push(set('t', `(i64.add (i64.add (i64.mul ${get(`a${i}`)} ${get(`b${j}`)}) ${get(`r${i + j}`)}) ${get('c')})`), set(`r${i + j}`, low(get('t'))), set('c', high(get('t'))));
    }
    body.push(set(`r${i + 8}`, get('c')));
  }
  body.push(set('c', '(i64.const 0)'));
  for (let k = 0; k < ACCUMULATOR_LIMBS; k++) {
    const product = k < 16 ? [get(`r${k}`)] : [];
    body.push(
      set('t', [`(i64.load32_u offset=${4 * k} ${get('acc')})`, ...product, get('c')].reduce((sum, value) => `(i64.add ${sum} ${value})`)),
      `(i64.store32 offset=${4 * k} ${get('acc')} ${get('t')})`,
      set('c', high(get('t'))),
    );
  }
  const locals = [...range(8).map((i) => `(local $a${i} i64)`), ...range(8).map((i) => `(local $b${i} i64)`), ...range(16).map((i) => `(local $r${i} i64)`), '(local $t i64) (local $c i64)'].join(' ');
  return `(func $sc_mac (export "sc_mac") (param $acc i32) (param $pa i32) (param $pb i32) ${locals}\n  ${body.join('\n  ')})`;
}

/**
 * One fold x = L + H 2^256 -> L + H (2^256 - n), the same value mod n, from `limbs` limbs to
 * `outLimbs` (enough for the bound the caller knows), in locals x{stage}_k.
 */
function fold(stage: number, limbs: number, outLimbs: number): string[] {
  const from = (k: number) => get(`x${stage}_${k}`);
  const to = (k: number) => `x${stage + 1}_${k}`;
  const out: string[] = range(outLimbs).map((k) => set(to(k), k < 8 ? from(k) : '(i64.const 0)'));
  for (let i = 0; i < limbs - 8; i++) {
    out.push(set('c', '(i64.const 0)'));
    for (let k = i; k < outLimbs; k++) {
      const j = k - i;
      const product = j < C_LIMBS.length ? [`(i64.mul ${from(8 + i)} (i64.const ${C_LIMBS[j]}))`] : [];
      out.push(set('t', [get(to(k)), ...product, get('c')].reduce((sum, value) => `(i64.add ${sum} ${value})`)), set(to(k), low(get('t'))), set('c', high(get('t'))));
    }
  }
  return out;
}

/** Limb counts of the folds: 576 -> 450 -> 323 -> 257 -> 257 -> 256 bits (see sc_reduce). */
const FOLDS: Array<[number, number]> = [
  [18, 15],
  [15, 11],
  [11, 9],
  [9, 9],
  [9, 8],
];

/**
 * out = (negate != 0 ? -x : x) mod n as 32 big-endian bytes, for the accumulator x, which is then
 * zeroed. Bounds: x < 2^576; after the folds below, x < 2^450, < 2^323, < 2^257, < 2^256 + 2^129,
 * and then < 2^256 (a carry out of the fourth fold leaves less than 2^129 below it), so one
 * conditional subtraction of n reduces it.
 */
function scalarReduce(): string {
  const body: string[] = range(ACCUMULATOR_LIMBS).map((k) => set(`x0_${k}`, `(i64.load32_u offset=${4 * k} ${get('acc')})`));
  FOLDS.forEach(([limbs, outLimbs], stage) => body.push(...fold(stage, limbs, outLimbs)));
  const last = FOLDS.length;
  const r = (k: number) => get(`x${last}_${k}`);
  // d = r - n; r is kept when that borrowed.
  body.push(set('c', '(i64.const 0)'));
  for (let k = 0; k < 8; k++) body.push(set('t', `(i64.sub (i64.sub ${r(k)} (i64.const ${N_LIMBS[k]})) ${get('c')})`), set(`d${k}`, low(get('t'))), set('c', '(i64.shr_u (local.get $t) (i64.const 63))'));
  body.push(set('mask', `(i64.sub ${get('c')} (i64.const 1))`));
  for (let k = 0; k < 8; k++) body.push(set(`r${k}`, `(i64.or (i64.and ${get(`d${k}`)} ${get('mask')}) (i64.and ${r(k)} (i64.xor ${get('mask')} (i64.const -1))))`));
  // e = n - r; taken when negating a non-zero r (the negation of 0 is 0, which r already is).
  body.push(set('c', '(i64.const 0)'), set('nonzero', '(i64.const 0)'));
  for (let k = 0; k < 8; k++) {
    body.push(
      set('t', `(i64.sub (i64.sub (i64.const ${N_LIMBS[k]}) ${get(`r${k}`)}) ${get('c')})`),
      set(`d${k}`, low(get('t'))),
      set('c', '(i64.shr_u (local.get $t) (i64.const 63))'),
      set('nonzero', `(i64.or ${get('nonzero')} ${get(`r${k}`)})`),
    );
  }
  body.push(set('mask', `(i64.and (i64.sub (i64.const 0) (i64.extend_i32_u (i32.ne (local.get $negate) (i32.const 0)))) (i64.sub (i64.const 0) (i64.extend_i32_u (i64.ne ${get('nonzero')} (i64.const 0)))))`));
  for (let k = 0; k < 8; k++) body.push(storeBigEndianLimb('out', k, `(i64.or (i64.and ${get(`d${k}`)} ${get('mask')}) (i64.and ${get(`r${k}`)} (i64.xor ${get('mask')} (i64.const -1))))`));
  for (let k = 0; k < ACCUMULATOR_LIMBS; k++) body.push(`(i32.store offset=${4 * k} ${get('acc')} (i32.const 0))`);
  const stageLocals = [[0, ACCUMULATOR_LIMBS] as const, ...FOLDS.map(([, outLimbs], stage) => [stage + 1, outLimbs] as const)]
    .flatMap(([stage, limbs]) => range(limbs).map((k) => `(local $x${stage}_${k} i64)`))
    .join(' ');
  const locals = `${stageLocals} ${range(8).map((k) => `(local $d${k} i64) (local $r${k} i64)`).join(' ')} (local $t i64) (local $c i64) (local $mask i64) (local $nonzero i64)`;
  return `(func $sc_reduce (export "sc_reduce") (param $out i32) (param $acc i32) (param $negate i32) ${locals}\n  ${body.join('\n  ')})`;
}

export function scalarFunctions(): string {
  return [scalarMultiplyAdd(), scalarReduce()].join('\n');
}
