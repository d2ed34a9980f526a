/**
 * Generates the WebAssembly text of Tandem's secp256k1 point arithmetic (src/mpc/wasm): field
 * operations mod p on eight 32-bit limbs in 64-bit locals, the complete projective formulas of
 * Renes, Costello and Batina (eprint 2015/1060, algorithms 7 and 9, a = 0), and table selection
 * that reads every entry. Written here because BigInt field arithmetic was the largest cost of a
 * signature (a product mod p takes ~270 ns as BigInts) and no maintained npm library offers
 * secp256k1 point arithmetic in WebAssembly that runs unchanged in a service worker and in Node.
 *
 * Everything is straight-line code with masks: no branch and no memory address depends on a
 * field element or on a selected index, and every field element leaves an operation in [0, p).
 * The generator unrolls the limb loops, which is why the text is generated rather than written.
 *
 * Memory layout (little-endian): a field element is 8 limbs of 32 bits (limb 0 least
 * significant), 32 bytes; a point is X, Y, Z, 96 bytes. Bytes [0, SCRATCH_END) belong to the
 * module: [0, 32) is the field element 0 and is never written, then temporaries.
 */

import { get, high, low, range, set } from './wat.js';

export const SCRATCH_END = 1024;
const ZERO = 0;
const temps = ['t0', 't1', 't2', 't3', 't4', 'x3', 'y3', 'z3', 'neg', 'q'] as const;
type Temp = (typeof temps)[number];
/** Temporaries of 32 bytes from 64; 'q' is a whole point (96 bytes) and comes last. */
const TEMP_AT: Record<Temp, number> = Object.fromEntries(temps.map((name, i) => [name, 64 + 32 * i])) as Record<Temp, number>;
if (TEMP_AT.q + 96 > SCRATCH_END) throw new Error('scratch overflow');

const LIMBS = 8;
const P_LIMBS = [0xfffffc2f, 0xfffffffe, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
/** 2^256 = 2^32 + 977 (mod p). */
const FOLD_LOW = 977;
const B3 = 21;

const add = (...values: string[]) => values.reduce((sum, value) => `(i64.add ${sum} ${value})`);
const locals = (prefix: string, count: number) => range(count).map((i) => `(local $${prefix}${i} i64)`).join(' ');
const loadLimbs = (prefix: string, pointer: string) => range(LIMBS).map((i) => set(`${prefix}${i}`, `(i64.load32_u offset=${4 * i} ${get(pointer)})`));
const storeLimbs = (prefix: string, pointer: string) => range(LIMBS).map((i) => `(i64.store32 offset=${4 * i} ${get(pointer)} ${get(`${prefix}${i}`)})`);

/** Adds limb-wise `terms[k]` into r0..r7 with a carry chain; leaves the carry out in $c. */
function carryChain(terms: (k: number) => string[]): string[] {
  const out: string[] = [set('c', '(i64.const 0)')];
  for (let k = 0; k < LIMBS; k++) {
    out.push(set('t', add(...terms(k), get('c'))), set(`r${k}`, low(get('t'))), set('c', high(get('t'))));
  }
  return out;
}

/**
 * r0..r7 + top * 2^256 (top < 2^40) to [0, p): folds top in as top * (2^32 + 977), folds the
 * carry of that (0 or 1) in the same way, then subtracts p when the result is not below it.
 */
function finishReduction(top: string): string[] {
  return [
    set('top', top),
    ...carryChain((k) => [get(`r${k}`), ...(k === 0 ? [`(i64.mul ${get('top')} (i64.const ${FOLD_LOW}))`] : k === 1 ? [get('top')] : [])]),
    set('top', get('c')),
    ...carryChain((k) => [get(`r${k}`), ...(k === 0 ? [`(i64.mul ${get('top')} (i64.const ${FOLD_LOW}))`] : k === 1 ? [get('top')] : [])]),
    ...subtractPIfNotBelow('(i64.const 0)'),
  ];
}

/**
 * r := r - p when r + carryIn * 2^256 >= p, without a branch: d = r - p with a borrow chain;
 * d is kept when there was a carry in or no borrow out.
 */
function subtractPIfNotBelow(carryIn: string): string[] {
  const out: string[] = [set('b', '(i64.const 0)')];
  for (let k = 0; k < LIMBS; k++) {
    out.push(
      set('t', `(i64.sub (i64.sub ${get(`r${k}`)} (i64.const ${P_LIMBS[k]})) ${get('b')})`),
      set(`d${k}`, low(get('t'))),
      set('b', '(i64.shr_u (local.get $t) (i64.const 63))'),
    );
  }
  // keep = carryIn | (1 - borrow); mask = -keep.
  out.push(set('mask', `(i64.sub (i64.const 0) (i64.or ${carryIn} (i64.xor ${get('b')} (i64.const 1))))`));
  for (let k = 0; k < LIMBS; k++) {
    out.push(set(`r${k}`, `(i64.or (i64.and ${get(`d${k}`)} ${get('mask')}) (i64.and ${get(`r${k}`)} (i64.xor ${get('mask')} (i64.const -1))))`));
  }
  return out;
}

const FIELD_LOCALS = `${locals('r', 16)} ${locals('d', LIMBS)} (local $t i64) (local $c i64) (local $b i64) (local $top i64) (local $mask i64)`;

/** o = a * b mod p. */
function feMul(): string {
  const body: string[] = [...loadLimbs('a', 'pa'), ...loadLimbs('e', 'pb')];
  // Schoolbook product in 16 limbs: a_i b_j + r + carry < 2^64 always.
  for (let i = 0; i < LIMBS; i++) {
    body.push(set('c', '(i64.const 0)'));
    for (let j = 0; j < LIMBS; j++) {
      body.push(
        set('t', add(`(i64.mul ${get(`a${i}`)} ${get(`e${j}`)})`, get(`r${i + j}`), get('c'))),
        set(`r${i + j}`, low(get('t'))),
        set('c', high(get('t'))),
      );
    }
    body.push(set(`r${i + LIMBS}`, get('c')));
  }
  // low + high * (2^32 + 977): limb k gets r_k + 977 r_(k+8) + r_(k+7).
  body.push(...carryChain((k) => [get(`r${k}`), `(i64.mul ${get(`r${k + LIMBS}`)} (i64.const ${FOLD_LOW}))`, ...(k > 0 ? [get(`r${k + LIMBS - 1}`)] : [])]));
  body.push(...finishReduction(add(get('r15'), get('c'))));
  body.push(...storeLimbs('r', 'po'));
  return `(func $fe_mul (export "fe_mul") (param $po i32) (param $pa i32) (param $pb i32) ${locals('a', LIMBS)} ${locals('e', LIMBS)} ${FIELD_LOCALS}\n  ${body.join('\n  ')})`;
}

/** o = 21 a mod p (3b, b = 7). */
function feMulB3(): string {
  const body: string[] = [...loadLimbs('a', 'pa'), ...carryChain((k) => [`(i64.mul ${get(`a${k}`)} (i64.const ${B3}))`]), ...finishReduction(get('c')), ...storeLimbs('r', 'po')];
  return `(func $fe_mul_b3 (param $po i32) (param $pa i32) ${locals('a', LIMBS)} ${FIELD_LOCALS}\n  ${body.join('\n  ')})`;
}

/** o = a + b mod p, for a, b in [0, p). */
function feAdd(): string {
  const body: string[] = [
    ...loadLimbs('a', 'pa'),
    ...loadLimbs('e', 'pb'),
    ...carryChain((k) => [get(`a${k}`), get(`e${k}`)]),
    ...subtractPIfNotBelow(get('c')),
    ...storeLimbs('r', 'po'),
  ];
  return `(func $fe_add (export "fe_add") (param $po i32) (param $pa i32) (param $pb i32) ${locals('a', LIMBS)} ${locals('e', LIMBS)} ${FIELD_LOCALS}\n  ${body.join('\n  ')})`;
}

/** o = a - b mod p, for a, b in [0, p): p is added back, through a mask, when a - b borrowed. */
function feSub(): string {
  const body: string[] = [...loadLimbs('a', 'pa'), ...loadLimbs('e', 'pb'), set('b', '(i64.const 0)')];
  for (let k = 0; k < LIMBS; k++) {
    body.push(
      set('t', `(i64.sub (i64.sub ${get(`a${k}`)} ${get(`e${k}`)}) ${get('b')})`),
      set(`r${k}`, low(get('t'))),
      set('b', '(i64.shr_u (local.get $t) (i64.const 63))'),
    );
  }
  body.push(set('mask', `(i64.sub (i64.const 0) ${get('b')})`));
  body.push(...carryChain((k) => [get(`r${k}`), `(i64.and (i64.const ${P_LIMBS[k]}) ${get('mask')})`]));
  body.push(...storeLimbs('r', 'po'));
  return `(func $fe_sub (export "fe_sub") (param $po i32) (param $pa i32) (param $pb i32) ${locals('a', LIMBS)} ${locals('e', LIMBS)} ${FIELD_LOCALS}\n  ${body.join('\n  ')})`;
}

/** Address expressions for the formulas: coordinates of a point parameter, or a temporary. */
type Operand = string;
const coordinate = (pointer: string, index: 0 | 1 | 2): Operand => `(i32.add ${get(pointer)} (i32.const ${32 * index}))`;
const temp = (name: Temp): Operand => `(i32.const ${TEMP_AT[name]})`;
const call = (fn: string, ...args: Operand[]) => `(call $${fn} ${args.join(' ')})`;
const copyField = (to: Operand, from: Operand) => range(4).map((w) => `(i64.store offset=${8 * w} ${to} (i64.load offset=${8 * w} ${from}))`);
/** X, Y and Z of the point parameter `pointer`. */
const coordinates = (pointer: string) => [coordinate(pointer, 0), coordinate(pointer, 1), coordinate(pointer, 2)] as const;
/** Copies the result from temporaries to the output point, last, so the output may be an input. */
const storeResult = (X3: Operand, Y3: Operand, Z3: Operand) => [...copyField(coordinate('po', 0), X3), ...copyField(coordinate('po', 1), Y3), ...copyField(coordinate('po', 2), Z3)];

/** Renes-Costello-Batina algorithm 7 (complete addition, a = 0); o may be a or b. */
function pointAdd(): string {
  const [X1, Y1, Z1] = coordinates('pa');
  const [X2, Y2, Z2] = coordinates('pb');
  const [t0, t1, t2, t3, t4, X3, Y3, Z3] = (['t0', 't1', 't2', 't3', 't4', 'x3', 'y3', 'z3'] as const).map(temp) as Operand[] as [Operand, Operand, Operand, Operand, Operand, Operand, Operand, Operand];
  const steps = [
    call('fe_mul', t0, X1, X2),
    call('fe_mul', t1, Y1, Y2),
    call('fe_mul', t2, Z1, Z2),
    call('fe_add', t3, X1, Y1),
    call('fe_add', t4, X2, Y2),
    call('fe_mul', t3, t3, t4),
    call('fe_add', t4, t0, t1),
    call('fe_sub', t3, t3, t4),
    call('fe_add', t4, Y1, Z1),
    call('fe_add', X3, Y2, Z2),
    call('fe_mul', t4, t4, X3),
    call('fe_add', X3, t1, t2),
    call('fe_sub', t4, t4, X3),
    call('fe_add', X3, X1, Z1),
    call('fe_add', Y3, X2, Z2),
    call('fe_mul', X3, X3, Y3),
    call('fe_add', Y3, t0, t2),
    call('fe_sub', Y3, X3, Y3),
    call('fe_add', X3, t0, t0),
    call('fe_add', t0, X3, t0),
    call('fe_mul_b3', t2, t2),
    call('fe_add', Z3, t1, t2),
    call('fe_sub', t1, t1, t2),
    call('fe_mul_b3', Y3, Y3),
    call('fe_mul', X3, t4, Y3),
    call('fe_mul', t2, t3, t1),
    call('fe_sub', X3, t2, X3),
    call('fe_mul', Y3, Y3, t0),
    call('fe_mul', t1, t1, Z3),
    call('fe_add', Y3, t1, Y3),
    call('fe_mul', t0, t0, t3),
    call('fe_mul', Z3, Z3, t4),
    call('fe_add', Z3, Z3, t0),
    ...storeResult(X3, Y3, Z3),
  ];
  return `(func $pt_add (export "pt_add") (param $po i32) (param $pa i32) (param $pb i32)\n  ${steps.join('\n  ')})`;
}

/** Renes-Costello-Batina algorithm 9 (doubling, a = 0); o may be a. */
function pointDouble(): string {
  const [X, Y, Z] = coordinates('pa');
  const [t0, t1, t2, X3, Y3, Z3] = (['t0', 't1', 't2', 'x3', 'y3', 'z3'] as const).map(temp) as Operand[] as [Operand, Operand, Operand, Operand, Operand, Operand];
  const steps = [
    call('fe_mul', t0, Y, Y),
    call('fe_add', Z3, t0, t0),
    call('fe_add', Z3, Z3, Z3),
    call('fe_add', Z3, Z3, Z3),
    call('fe_mul', t1, Y, Z),
    call('fe_mul', t2, Z, Z),
    call('fe_mul_b3', t2, t2),
    call('fe_mul', X3, t2, Z3),
    call('fe_add', Y3, t0, t2),
    call('fe_mul', Z3, t1, Z3),
    call('fe_add', t1, t2, t2),
    call('fe_add', t2, t1, t2),
    call('fe_sub', t0, t0, t2),
    call('fe_mul', Y3, t0, Y3),
    call('fe_add', Y3, X3, Y3),
    call('fe_mul', t1, X, Y),
    call('fe_mul', X3, t0, t1),
    call('fe_add', X3, X3, X3),
    ...storeResult(X3, Y3, Z3),
  ];
  return `(func $pt_double (export "pt_double") (param $po i32) (param $pa i32)\n  ${steps.join('\n  ')})`;
}

/**
 * acc = acc + digit * P, for an odd signed digit and a row of the `count` odd multiples
 * (2j + 1) P: the digit's sign and index are taken apart with integer operations here rather
 * than in JavaScript (where a comparison compiles to a branch), every entry is read and masked
 * in, and the negation p - Y is computed and masked in whatever the sign.
 */
function pointAddSelected(): string {
  const q = TEMP_AT.q;
  const words = range(12);
  const body: string[] = [
    // negative = digit >>> 31; |digit| = (digit ^ -negative) + negative; index = (|digit| - 1) >> 1.
    '(local.set $negative (i32.shr_u (local.get $digit) (i32.const 31)))',
    '(local.set $index (i32.shr_u (i32.sub (i32.add (i32.xor (local.get $digit) (i32.sub (i32.const 0) (local.get $negative))) (local.get $negative)) (i32.const 1)) (i32.const 1)))',
    ...words.map((w) => set(`w${w}`, '(i64.const 0)')),
    set('entry', '(i32.const 0)'),
    `(block $done (loop $scan
    (br_if $done (i32.ge_u (local.get $entry) (local.get $count)))
    ${set('mask', '(i64.sub (i64.const 0) (i64.extend_i32_u (i32.eq (local.get $entry) (local.get $index))))')}
    ${words.map((w) => set(`w${w}`, `(i64.or ${get(`w${w}`)} (i64.and (i64.load offset=${8 * w} (local.get $at)) ${get('mask')}))`)).join('\n    ')}
    (local.set $at (i32.add (local.get $at) (i32.const 96)))
    (local.set $entry (i32.add (local.get $entry) (i32.const 1)))
    (br $scan)))`,
    ...words.map((w) => `(i64.store offset=${8 * w} (i32.const ${q}) ${get(`w${w}`)})`),
    call('fe_sub', temp('neg'), `(i32.const ${ZERO})`, `(i32.const ${q + 32})`),
    set('mask', '(i64.sub (i64.const 0) (i64.extend_i32_u (local.get $negative)))'),
    ...range(4).map(
      (w) =>
        `(i64.store offset=${q + 32 + 8 * w} (i32.const 0) (i64.or (i64.and (i64.load offset=${TEMP_AT.neg + 8 * w} (i32.const 0)) ${get('mask')}) (i64.and (i64.load offset=${q + 32 + 8 * w} (i32.const 0)) (i64.xor ${get('mask')} (i64.const -1)))))`,
    ),
    call('pt_add', get('acc'), get('acc'), `(i32.const ${q})`),
  ];
  return `(func $pt_add_selected (export "pt_add_selected") (param $acc i32) (param $at i32) (param $count i32) (param $digit i32) ${locals('w', 12)} (local $mask i64) (local $entry i32) (local $negative i32) (local $index i32)\n  ${body.join('\n  ')})`;
}

/** The module's secp256k1 functions; module-wat.ts puts them in the module with its memory. */
export function secp256k1Functions(): string {
  return [feMul(), feMulB3(), feAdd(), feSub(), pointAdd(), pointDouble(), pointAddSelected()].join('\n');
}
