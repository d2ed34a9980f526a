/*
 * Multiplication by secret scalars. The point arithmetic runs in WebAssembly (src/mpc/wasm, generated
 * by scripts/wasm/secp256k1-wat.ts): 64-bit limb arithmetic with masks instead of branches, every
 * field element reduced after every operation, so an operation's time does not depend on its
 * operands, which BigInt arithmetic cannot promise (noble's constant-time path for secrets is
 * BigInt too, and was a quarter of a co-signer's CPU per signature). On top of that:
 *  - every scalar is split by secp256k1's endomorphism (GLV), k = k1 + k2 lambda mod n, and the
 *    split is randomised on every call by a random short lattice vector (see glvHalves): every
 *    bit of both halves is masked, so the digits differ on every call even for the same k, and
 *    their count is fixed;
 *  - each half is recoded into signed digits that are all odd (Joye and Tunstall's regular
 *    recoding), so every window adds a real table point and the sequence of operations is fixed;
 *  - every table lookup reads and masks in every entry of its row, and negates the selection as
 *    p - Y whatever the sign, in the module: no memory address depends on a digit;
 *  - the point's projective coordinates (for G, the accumulator's) are multiplied by a random z,
 *    so no intermediate value repeats between calls.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { randomBytes } from './bytes.js';
import { FIELD_BYTES, POINT_BYTES, moduleArea, type PointEngine } from './wasm/engine.js';

type Point = InstanceType<typeof secp256k1.Point>;
const Point = secp256k1.Point;
const ORDER = Point.Fn.ORDER;
const FIELD = Point.Fp.ORDER;

/*
 * phi(x, y) = (beta x, y) = lambda (x, y). The lattice vectors (a1, b1) and (a2, b2) satisfy
 * a + b lambda = 0 mod n and are ~128 bits long (the reduced basis @noble/curves uses too).
 */
const BETA = 0x7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501een;
const LATTICE_A1 = 0x3086d221a7d46bcde86c90e49284eb15n;
const LATTICE_B1 = -0xe4437ed6010e88286f547fa90abfe4c3n;
const LATTICE_A2 = 0x114ca50f7a8e2f3f657c1108d9d44cfd8n;
const LATTICE_B2 = LATTICE_A1;
/**
 * Random lattice coefficients of 64 bits, the top bit set (so even a failing random source still
 * masks) and the lowest fixed by parity: 124 bits of fresh randomness per split.
 */
const SPLIT_BLIND_BYTES = 8;
/** |k1|, |k2| < 2^128 + 2^64 (|a1| + |a2|) < 2^194. */
const HALF_BITS = 194;
const SCALAR_BLIND_BYTES = 8;

function divNearest(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator / 2n) / denominator;
}

/**
 * Signed odd k1, k2 below 2^194 in absolute value with k1 + k2 lambda = k mod n: the nearest
 * lattice split (as in @noble/curves) plus r1 (a1, b1) + r2 (a2, b2) for fresh random r1, r2.
 * The split itself runs on k + b n for a random 64-bit b, which gives the same halves but keeps
 * the BigInt divisions the same size for every k. `random` is for tests.
 */
export function glvHalves(scalar: bigint, random: Uint8Array = randomBytes(SCALAR_BLIND_BYTES + 2 * SPLIT_BLIND_BYTES)): [bigint, bigint] {
  const blind = bytesToNumberBE(random.subarray(0, SCALAR_BLIND_BYTES)) | (1n << 63n);
  const padded = scalar + blind * ORDER;
  const c1 = divNearest(LATTICE_B2 * padded, ORDER);
  const c2 = divNearest(-LATTICE_B1 * padded, ORDER);
  const k1 = padded - c1 * LATTICE_A1 - c2 * LATTICE_A2;
  const k2 = -c1 * LATTICE_B1 - c2 * LATTICE_B2;
  const top = 1n << BigInt(8 * SPLIT_BLIND_BYTES - 1);
  let r1 = bytesToNumberBE(random.subarray(SCALAR_BLIND_BYTES, SCALAR_BLIND_BYTES + SPLIT_BLIND_BYTES)) | top;
  let r2 = bytesToNumberBE(random.subarray(SCALAR_BLIND_BYTES + SPLIT_BLIND_BYTES)) | top;
  // Modulo 2 the lattice vectors are (1, 1) and (0, 1): r1's low bit fixes k1's parity, then r2's fixes k2's.
  r1 = (r1 & ~1n) | ((k1 & 1n) ^ 1n);
  r2 = (r2 & ~1n) | ((k2 + r1 + 1n) & 1n);
  return [k1 + r1 * LATTICE_A1 + r2 * LATTICE_A2, k2 + r1 * LATTICE_B1 + r2 * LATTICE_B2];
}

/**
 * Digits d_i, all odd and in (-2^window, 2^window), with sum d_i 2^(window i) = odd, for an odd
 * value below 2^(window (count - 1)). Each step keeps the remainder odd, so no digit is ever zero.
 */
export function regularDigits(odd: bigint, window: number, count: number): Int16Array {
  if ((odd & 1n) !== 1n || odd >> BigInt(window * (count - 1)) !== 0n) throw new RangeError('value must be odd and fit the digits');
  const digits = new Int16Array(count);
  const mask = (1n << BigInt(window + 1)) - 1n;
  const shift = BigInt(window);
  const half = 1 << window;
  let rest = odd;
  for (let i = 0; i < count - 1; i++) {
    const digit = Number(rest & mask) - half;
    digits[i] = digit;
    rest = (rest - BigInt(digit)) >> shift;
  }
  digits[count - 1] = Number(rest);
  return digits;
}

/** regularDigits of |value|, negated when value is negative. */
function signedRegularDigits(value: bigint, window: number, count: number): Int16Array {
  const negative = value < 0n;
  const digits = regularDigits(negative ? -value : value, window, count);
  const sign = negative ? -1 : 1;
  for (let i = 0; i < count; i++) digits[i] = digits[i]! * sign;
  return digits;
}

/** An engine region holding a row of odd multiples (2j + 1) P, j < 2^(window - 1), of 96-byte points. */
type Row = number;

interface Workspace {
  engine: PointEngine;
  beta: number;
  z: number;
  twice: number;
  acc: number;
}

const engineWorkspace = moduleArea((engine): Workspace => {
  const beta = engine.allocate(FIELD_BYTES);
  engine.writeField(beta, BETA);
  return { engine, beta, z: engine.allocate(FIELD_BYTES), twice: engine.allocate(POINT_BYTES), acc: engine.allocate(POINT_BYTES) };
});

function randomFieldElement(): bigint {
  return (bytesToNumberBE(randomBytes(40)) % (FIELD - 1n)) + 1n;
}

/** Writes `point` at `at` with its coordinates multiplied by a fresh random z in [1, p). */
function writeRandomised(w: Workspace, at: number, point: Point): void {
  w.engine.writeField(w.z, randomFieldElement());
  w.engine.writePoint(at, [point.X, point.Y, point.Z]);
  for (let i = 0; i < 3; i++) w.engine.fe_mul(at + i * FIELD_BYTES, at + i * FIELD_BYTES, w.z);
}

/** Fills `row` with the odd multiples of the point already at its first entry. */
function fillOddMultiples(w: Workspace, row: Row, window: number): void {
  w.engine.pt_double(w.twice, row);
  for (let j = 1; j < 1 << (window - 1); j++) w.engine.pt_add(row + j * POINT_BYTES, row + (j - 1) * POINT_BYTES, w.twice);
}

/** `to` = the same row for phi(P): every x times beta. */
function fillEndomorphismRow(w: Workspace, to: Row, from: Row, window: number): void {
  const entries = 1 << (window - 1);
  w.engine.copy(to, from, entries * POINT_BYTES);
  for (let j = 0; j < entries; j++) w.engine.fe_mul(to + j * POINT_BYTES, to + j * POINT_BYTES, w.beta);
}

/** acc += digit * P from a row of odd multiples of P (the engine reads every entry whatever the digit, and takes its sign apart itself). */
function addDigit(w: Workspace, row: Row, window: number, digit: number): void {
  w.engine.pt_add_selected(w.acc, row, 1 << (window - 1), digit);
}

/** Sets the accumulator to the identity (0 : z : 0) for a fresh random z. */
function startAccumulator(w: Workspace): void {
  w.engine.writePoint(w.acc, [0n, randomFieldElement(), 0n]);
}

/** The result, after which the accumulator and the module's temporaries (the last selected point) are wiped. */
function takeAccumulator(w: Workspace): Point {
  const [X, Y, Z] = w.engine.readPoint(w.acc);
  w.engine.wipe(w.acc, POINT_BYTES);
  return new Point(X, Y, Z);
}

function assertSecretScalar(scalar: bigint): void {
  if (!(scalar > 0n && scalar < ORDER)) throw new RangeError('scalar out of range');
}

const POINT_WINDOW = 5;
const POINT_DIGITS = Math.ceil(HALF_BITS / POINT_WINDOW) + 1;
const POINT_ROW_BYTES = (1 << (POINT_WINDOW - 1)) * POINT_BYTES;
/** Rows for mulSecretSum by number of terms, two per term (P and phi(P)), reused by every call. */
const sumRows = new Map<number, Row>();

/**
 * Sum of k_i * P_i for secret k_i in [1, n) and valid points P_i other than the identity, with one
 * chain of doublings for all terms and halves (Straus): every half adds one table point per window.
 */
export function mulSecretSum(terms: ReadonlyArray<readonly [Point, bigint]>): Point {
  if (terms.length === 0) throw new RangeError('no terms');
  const w = engineWorkspace();
  let rows = sumRows.get(terms.length);
  if (rows === undefined) {
    rows = w.engine.allocate(2 * terms.length * POINT_ROW_BYTES);
    sumRows.set(terms.length, rows);
  }
  const digits: Int16Array[] = [];
  terms.forEach(([point, scalar], t) => {
    assertSecretScalar(scalar);
    if (point.is0()) throw new RangeError('point is the identity');
    const [k1, k2] = glvHalves(scalar);
    const row = rows + 2 * t * POINT_ROW_BYTES;
    writeRandomised(w, row, point);
    fillOddMultiples(w, row, POINT_WINDOW);
    fillEndomorphismRow(w, row + POINT_ROW_BYTES, row, POINT_WINDOW);
    digits.push(signedRegularDigits(k1, POINT_WINDOW, POINT_DIGITS), signedRegularDigits(k2, POINT_WINDOW, POINT_DIGITS));
  });
  startAccumulator(w);
  for (let i = POINT_DIGITS - 1; i >= 0; i--) {
    if (i < POINT_DIGITS - 1) for (let d = 0; d < POINT_WINDOW; d++) w.engine.pt_double(w.acc, w.acc);
    for (let h = 0; h < digits.length; h++) addDigit(w, rows + h * POINT_ROW_BYTES, POINT_WINDOW, digits[h]![i]!);
  }
  return takeAccumulator(w);
}

/*
 * For G, every window's odd multiples of G and of phi(G) are precomputed (2 x 34 rows of 32
 * points (2j + 1) 2^(6r) G, ~200 KB of the engine's memory, built on first use), so a
 * multiplication is 68 additions and no doubling. Six-bit windows: with every lookup reading its
 * whole row, wider rows cost more to scan than the additions they save.
 */
const BASE_WINDOW = 6;
const BASE_DIGITS = Math.ceil(HALF_BITS / BASE_WINDOW) + 1;
const BASE_ROW_BYTES = (1 << (BASE_WINDOW - 1)) * POINT_BYTES;
/** Row r of G at baseRows + 2r rows, of phi(G) right after it. */
let baseRows: Row | undefined;

function secretBaseRows(w: Workspace): Row {
  if (baseRows !== undefined) return baseRows;
  const rows = w.engine.allocate(2 * BASE_DIGITS * BASE_ROW_BYTES);
  const start = w.engine.allocate(POINT_BYTES);
  writeRandomised(w, start, Point.BASE);
  for (let r = 0; r < BASE_DIGITS; r++) {
    const row = rows + 2 * r * BASE_ROW_BYTES;
    w.engine.copy(row, start, POINT_BYTES);
    fillOddMultiples(w, row, BASE_WINDOW);
    fillEndomorphismRow(w, row + BASE_ROW_BYTES, row, BASE_WINDOW);
    for (let d = 0; d < BASE_WINDOW; d++) w.engine.pt_double(start, start);
  }
  baseRows = rows;
  return rows;
}

/** k * G for a secret k in [1, n). */
export function mulBaseSecret(scalar: bigint): Point {
  assertSecretScalar(scalar);
  const w = engineWorkspace();
  const rows = secretBaseRows(w);
  const [k1, k2] = glvHalves(scalar);
  const digits1 = signedRegularDigits(k1, BASE_WINDOW, BASE_DIGITS);
  const digits2 = signedRegularDigits(k2, BASE_WINDOW, BASE_DIGITS);
  startAccumulator(w);
  for (let r = 0; r < BASE_DIGITS; r++) {
    addDigit(w, rows + 2 * r * BASE_ROW_BYTES, BASE_WINDOW, digits1[r]!);
    addDigit(w, rows + (2 * r + 1) * BASE_ROW_BYTES, BASE_WINDOW, digits2[r]!);
  }
  return takeAccumulator(w);
}
