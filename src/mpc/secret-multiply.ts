/*
 * Multiplication by secret scalars, written here because @noble/curves' constant-time path was a
 * quarter of a co-signer's CPU per signature (a 384-bit blinded scalar, 4-bit windows, its general
 * formulas). The sequence of point operations never depends on the scalar:
 *  - every scalar is split by secp256k1's endomorphism (GLV), k = k1 + k2 lambda mod n, and the
 *    split is randomised on every call by a random short lattice vector (see glvHalves): every
 *    bit of both halves is masked, so the digits differ on every call even for the same k, and
 *    their count is fixed;
 *  - each half is recoded into signed digits that are all odd (Joye and Tunstall's regular
 *    recoding), so no digit is zero and every window adds a real table point, never the identity
 *    (an earlier hand-written walk added the identity for zero digits, which BigInt arithmetic does
 *    faster, and so leaked the scalar's shape);
 *  - every table lookup reads every entry of its row, and table entries are reduced, with no Z = 1,
 *    and negated as p - Y, so no entry or sign is cheaper to add than another;
 *  - the point's projective coordinates (for G, the accumulator's) are multiplied by a random z,
 *    so no intermediate value repeats between calls.
 * BigInt arithmetic itself is not constant-time, in noble or here: these measures keep the order of
 * operations fixed and their operands randomised. noble blinds a 384-bit scalar with 126 random bits
 * and does not split secrets by GLV; here each split carries 124 random bits, so a leak of the
 * halves' digits has as wide a margin before it reaches bits of k.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { randomBytes } from './bytes.js';
import { addProjective, doubleProjective, fromProjective, negateProjective, reduceProjective, toProjective, type Projective } from './projective.js';

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

/** (2j + 1) * point for j < 2^(window - 1), reduced. */
function oddMultiples(point: Projective, window: number): Projective[] {
  const twice = doubleProjective(point);
  const row = [point];
  for (let j = 1; j < 1 << (window - 1); j++) row.push(addProjective(row[j - 1]!, twice));
  return row.map(reduceProjective);
}

/** The same row for phi(P): every x times beta. */
function endomorphismRow(row: readonly Projective[]): Projective[] {
  return row.map(([X, Y, Z]): Projective => [(X * BETA) % FIELD, Y, Z]);
}

/** digit * P from a row of odd multiples of P, reading every entry whatever the digit. */
function lookup(row: readonly Projective[], digit: number): Projective {
  const index = (Math.abs(digit) - 1) >> 1;
  let selected = row[0]!;
  for (let j = 1; j < row.length; j++) selected = j === index ? row[j]! : selected;
  const negated = negateProjective(selected);
  return digit < 0 ? negated : selected;
}

function randomFieldElement(): bigint {
  return (bytesToNumberBE(randomBytes(40)) % (FIELD - 1n)) + 1n;
}

/** The same point with its coordinates multiplied by a fresh random z in [1, p). */
function randomised(point: Projective): Projective {
  const z = randomFieldElement();
  return [(point[0] * z) % FIELD, (point[1] * z) % FIELD, (point[2] * z) % FIELD];
}

function assertSecretScalar(scalar: bigint): void {
  if (!(scalar > 0n && scalar < ORDER)) throw new RangeError('scalar out of range');
}

const POINT_WINDOW = 5;
const POINT_DIGITS = Math.ceil(HALF_BITS / POINT_WINDOW) + 1;

/**
 * Sum of k_i * P_i for secret k_i in [1, n) and valid points P_i other than the identity, with one
 * chain of doublings for all terms and halves (Straus): every half adds one table point per window.
 */
export function mulSecretSum(terms: ReadonlyArray<readonly [Point, bigint]>): Point {
  if (terms.length === 0) throw new RangeError('no terms');
  const digits: Int16Array[] = [];
  const rows: Projective[][] = [];
  for (const [point, scalar] of terms) {
    assertSecretScalar(scalar);
    if (point.is0()) throw new RangeError('point is the identity');
    const [k1, k2] = glvHalves(scalar);
    const row = oddMultiples(randomised(toProjective(point)), POINT_WINDOW);
    digits.push(signedRegularDigits(k1, POINT_WINDOW, POINT_DIGITS), signedRegularDigits(k2, POINT_WINDOW, POINT_DIGITS));
    rows.push(row, endomorphismRow(row));
  }
  let acc = lookup(rows[0]!, digits[0]![POINT_DIGITS - 1]!);
  for (let t = 1; t < rows.length; t++) acc = addProjective(acc, lookup(rows[t]!, digits[t]![POINT_DIGITS - 1]!));
  for (let i = POINT_DIGITS - 2; i >= 0; i--) {
    for (let d = 0; d < POINT_WINDOW; d++) acc = doubleProjective(acc);
    for (let t = 0; t < rows.length; t++) acc = addProjective(acc, lookup(rows[t]!, digits[t]![i]!));
  }
  return fromProjective(acc);
}

/*
 * For G, every window's odd multiples of G and of phi(G) are precomputed (2 x 26 rows of 128
 * points (2j + 1) 2^(8r) G, ~6,700 points, built on first use), so a multiplication is 52
 * additions and no doubling.
 */
const BASE_WINDOW = 8;
const BASE_DIGITS = Math.ceil(HALF_BITS / BASE_WINDOW) + 1;
let baseRows: { base: Projective[][]; endomorphism: Projective[][] } | undefined;

function secretBaseRows(): { base: Projective[][]; endomorphism: Projective[][] } {
  if (baseRows) return baseRows;
  const base: Projective[][] = [];
  // G itself has Z = 1, which would make its first use cheaper: the whole table starts from a random Z.
  let start = randomised(toProjective(Point.BASE));
  for (let r = 0; r < BASE_DIGITS; r++) {
    base.push(oddMultiples(start, BASE_WINDOW));
    for (let d = 0; d < BASE_WINDOW; d++) start = doubleProjective(start);
  }
  baseRows = { base, endomorphism: base.map(endomorphismRow) };
  return baseRows;
}

/** k * G for a secret k in [1, n). */
export function mulBaseSecret(scalar: bigint): Point {
  assertSecretScalar(scalar);
  const { base, endomorphism } = secretBaseRows();
  const [k1, k2] = glvHalves(scalar);
  const digits1 = signedRegularDigits(k1, BASE_WINDOW, BASE_DIGITS);
  const digits2 = signedRegularDigits(k2, BASE_WINDOW, BASE_DIGITS);
  let acc = randomised(lookup(base[0]!, digits1[0]!));
  acc = addProjective(acc, lookup(endomorphism[0]!, digits2[0]!));
  for (let r = 1; r < BASE_DIGITS; r++) {
    acc = addProjective(acc, lookup(base[r]!, digits1[r]!));
    acc = addProjective(acc, lookup(endomorphism[r]!, digits2[r]!));
  }
  return fromProjective(acc);
}
