import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { DecodeError } from './errors.js';
import { bytesToHex, randomBytes } from './bytes.js';

export const Point = secp256k1.Point;
export type Point = InstanceType<typeof secp256k1.Point>;
export const Fn = secp256k1.Point.Fn;
export const CURVE_ORDER = Fn.ORDER;
export const G = Point.BASE;
// A wider table than noble's default for the multiplications of G that still go through noble (proof
// verification, DKG checks): a one-time ~60 ms, built on first use. mulG below has its own table.
G.precompute(8);

export const SCALAR_BYTES = 32;
export const POINT_BYTES = 33;

/** Uniform non-zero scalar: 48 random bytes reduced mod n-1, plus one. */
export function randomScalar(): bigint {
  return (bytesToNumberBE(randomBytes(48)) % (CURVE_ORDER - 1n)) + 1n;
}

/**
 * The 256-bit big-endian integer at `offset`. Hot loops keep one DataView per buffer and read
 * through it: creating a view per value costs more than the conversion itself.
 */
export function readScalar(view: DataView, offset: number): bigint {
  return (((((view.getBigUint64(offset) << 64n) | view.getBigUint64(offset + 8)) << 64n) | view.getBigUint64(offset + 16)) << 64n) | view.getBigUint64(offset + 24);
}

/** Writes a scalar as 32 big-endian bytes at `offset`, reducing it mod n first when it is out of range. */
export function writeScalar(view: DataView, offset: number, scalar: bigint): void {
  let value = scalar < 0n || scalar >= CURVE_ORDER ? Fn.create(scalar) : scalar;
  // 64 bits at a time through asUintN: several times faster than masking, and allocates less.
  view.setBigUint64(offset + 24, BigInt.asUintN(64, value));
  value >>= 64n;
  view.setBigUint64(offset + 16, BigInt.asUintN(64, value));
  value >>= 64n;
  view.setBigUint64(offset + 8, BigInt.asUintN(64, value));
  view.setBigUint64(offset, value >> 64n);
}

export function scalarToBytes(scalar: bigint): Uint8Array {
  const buffer = new ArrayBuffer(SCALAR_BYTES);
  writeScalar(new DataView(buffer), 0, scalar);
  return new Uint8Array(buffer);
}

/** Checklist item 2: a scalar from a peer must lie in (0, n). */
export function assertPeerScalar(value: bigint): bigint {
  if (value === 0n || value >= CURVE_ORDER) throw new DecodeError('invalid-scalar', 'scalar is zero or not below the group order');
  return value;
}

export function pointToBytes(point: Point): Uint8Array {
  return point.toBytes(true);
}

/** Checklist item 2: points from peers must be on the curve and not the identity. */
export function pointFromBytes(bytes: Uint8Array): Point {
  if (bytes.length !== POINT_BYTES) throw new DecodeError('bad-encoding', `point must be ${POINT_BYTES} bytes compressed, got ${bytes.length}`);
  let point: Point;
  try {
    point = Point.fromBytes(bytes);
    point.assertValidity();
  } catch (cause) {
    throw new DecodeError('invalid-point', `not a point on secp256k1: ${(cause as Error).message}`);
  }
  if (point.is0()) throw new DecodeError('invalid-point', 'point is the identity');
  return point;
}

const KEY_POINT_CACHE_SIZE = 128;
const keyPoints = new Map<string, Point>();

/**
 * A wallet public key as a point, kept in a small LRU: the same key is multiplied by public
 * scalars in every signature verification, through a table (see mulBaseAndKeyPublic) that is
 * built on the first verification and lives as long as the point stays in this cache.
 */
export function keyPoint(bytes: Uint8Array): Point {
  const id = bytesToHex(bytes);
  const cached = keyPoints.get(id);
  if (cached) {
    keyPoints.delete(id);
    keyPoints.set(id, cached);
    return cached;
  }
  const point = pointFromBytes(bytes);
  keyPoints.set(id, point);
  if (keyPoints.size > KEY_POINT_CACHE_SIZE) keyPoints.delete(keyPoints.keys().next().value!);
  return point;
}

/*
 * Point arithmetic for the two secret-scalar multiplications below, on plain projective
 * coordinates [X, Y, Z] (x = X/Z, y = Y/Z). The formulas are the complete ones of Renes, Costello
 * and Batina (eprint 2015/1060) for a = 0, algorithms 7 (addition) and 9 (doubling): no special
 * case for the identity or for doubling, so the operation sequence never depends on the points.
 * @noble/curves runs the general-a formulas and reduces after every field operation (~40 BigInt
 * divisions per addition); here only products are reduced (14 per addition, 9 per doubling) and
 * sums and differences stay unreduced, which BigInt allows: values stay within a few multiples of p.
 */
type Projective = readonly [bigint, bigint, bigint];
const P = Point.Fp.ORDER;
const B3 = 21n; // 3 * b, b = 7

function addProjective(a: Projective, b: Projective): Projective {
  const [X1, Y1, Z1] = a;
  const [X2, Y2, Z2] = b;
  let t0 = (X1 * X2) % P;
  let t1 = (Y1 * Y2) % P;
  let t2 = (Z1 * Z2) % P;
  let t3 = ((X1 + Y1) * (X2 + Y2)) % P;
  let t4 = t0 + t1;
  t3 = t3 - t4;
  t4 = ((Y1 + Z1) * (Y2 + Z2)) % P;
  let X3 = t1 + t2;
  t4 = t4 - X3;
  X3 = ((X1 + Z1) * (X2 + Z2)) % P;
  let Y3 = t0 + t2;
  Y3 = X3 - Y3;
  X3 = t0 + t0;
  t0 = X3 + t0;
  t2 = (B3 * t2) % P;
  let Z3 = t1 + t2;
  t1 = t1 - t2;
  Y3 = (B3 * Y3) % P;
  X3 = (t4 * Y3) % P;
  t2 = (t3 * t1) % P;
  X3 = t2 - X3;
  Y3 = (Y3 * t0) % P;
  t1 = (t1 * Z3) % P;
  Y3 = t1 + Y3;
  t0 = (t0 * t3) % P;
  Z3 = (Z3 * t4) % P;
  Z3 = Z3 + t0;
  return [X3, Y3, Z3];
}

function doubleProjective(a: Projective): Projective {
  const [X, Y, Z] = a;
  let t0 = (Y * Y) % P;
  let Z3 = t0 + t0;
  Z3 = Z3 + Z3;
  Z3 = Z3 + Z3;
  let t1 = (Y * Z) % P;
  let t2 = (Z * Z) % P;
  t2 = (B3 * t2) % P;
  let X3 = (t2 * Z3) % P;
  let Y3 = t0 + t2;
  Z3 = (t1 * Z3) % P;
  t1 = t2 + t2;
  t2 = t1 + t2;
  t0 = t0 - t2;
  Y3 = (t0 * Y3) % P;
  Y3 = X3 + Y3;
  t1 = (X * Y) % P;
  X3 = (t0 * t1) % P;
  X3 = X3 + X3;
  return [X3, Y3, Z3];
}

function negateProjective(a: Projective): Projective {
  return [a[0], -a[1], a[2]];
}

/** The identity, as (0 : z : 0) for a random z: every coordinate computed from it is scaled by z. */
function randomIdentity(): Projective {
  return [0n, randomScalar(), 0n];
}

function fromProjective(a: Projective): Point {
  const reduce = (value: bigint) => ((value % P) + P) % P;
  return new Point(reduce(a[0]), reduce(a[1]), reduce(a[2]));
}

/** The entry of `table` at `index`, touching every entry. */
function select(table: readonly Projective[], index: number): Projective {
  let chosen = table[0]!;
  for (let i = 1; i < table.length; i++) chosen = i === index ? table[i]! : chosen;
  return chosen;
}

/*
 * Variable-base multiplication by secret scalars, for the one place signing needs it (the DKLs23
 * consistency check multiplies the peer's points by this party's secret multiplication input).
 * @noble/curves' Point.multiply blinds the scalar to 384 bits and walks it without the
 * endomorphism: ~490 point operations, about 1.5 ms here. This walk splits every scalar with the
 * GLV endomorphism of secp256k1 (k = k1 + k2 * lambda, |k1|, |k2| < 2^128) and runs one shared
 * fixed-window chain (signed 5-bit digits) over all halves: for two points 125 doublings and 104 additions.
 * Constant-time in the same sense as noble's fixedWindowCT: the sequence of point operations
 * depends on nothing but the number of points (no skipped windows, every digit adds, the identity
 * when it is zero, and every table lookup touches every entry), the halves' signs are applied by
 * a select, and each input point and the accumulator are re-randomised in projective coordinates
 * (a random Z) so that intermediate values differ from run to run, in place of noble's scalar blinding.
 */
const GLV_BETA = 0x7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501een;
const GLV_A1 = 0x3086d221a7d46bcde86c90e49284eb15n;
const GLV_B1 = -0xe4437ed6010e88286f547fa90abfe4c3n;
const GLV_A2 = 0x114ca50f7a8e2f3f657c1108d9d44cfd8n;
const GLV_B2 = GLV_A1;
const HALF_ORDER = CURVE_ORDER >> 1n;
const WINDOW = 5;
const WINDOWS = 26; // 130 bits: halves below 2^128 plus the carry of the signed recoding
const WINDOW_HALF = 1 << (WINDOW - 1);
const DIGIT_MASK = BigInt((1 << WINDOW) - 1);

/** k = k1 + k2 * lambda (mod n) with signed halves below 2^128, without branching on k. */
function splitScalar(k: bigint): [bigint, bigint] {
  // Both numerators are positive (b2 > 0 > b1), so rounding needs no sign test.
  const c1 = (GLV_B2 * k + HALF_ORDER) / CURVE_ORDER;
  const c2 = (-GLV_B1 * k + HALF_ORDER) / CURVE_ORDER;
  return [k - c1 * GLV_A1 - c2 * GLV_A2, -c1 * GLV_B1 - c2 * GLV_B2];
}

/** |x| and its sign as 0 or 1, for |x| < 2^255, by arithmetic rather than a branch. */
function signAndMagnitude(x: bigint): [number, bigint] {
  const sign = x >> 255n; // 0n or -1n
  return [Number(-sign), (x ^ sign) - sign];
}

/** Signed digits in [-16, 16] of a magnitude below 2^128, least significant first, without branches. */
function signedDigits(magnitude: bigint): Int32Array {
  const digits = new Int32Array(WINDOWS);
  let carry = 0;
  for (let w = 0; w < WINDOWS; w++) {
    const raw = Number((magnitude >> BigInt(w * WINDOW)) & DIGIT_MASK) + carry;
    carry = (WINDOW_HALF - raw) >>> 31; // 1 when raw > 16
    digits[w] = raw - (carry << WINDOW);
  }
  return digits;
}

/** Sum of k_i * P_i for secret scalars k_i in [1, n) and points that are valid and not the identity. */
export function mulSecretSum(terms: ReadonlyArray<readonly [Point, bigint]>): Point {
  const tables: Projective[][] = [];
  const digits: Int32Array[] = [];
  for (const [point, scalar] of terms) {
    if (!(scalar > 0n && scalar < CURVE_ORDER)) throw new RangeError('scalar out of range');
    if (point.is0()) throw new RangeError('point is the identity');
    const halves = splitScalar(scalar);
    const z = randomScalar(); // in [1, n) and so a non-zero element of Fp
    const base: Projective = [(point.X * z) % P, (point.Y * z) % P, (point.Z * z) % P];
    // 0, P, 2P, ..., 16P once; the endomorphism image of j P is (beta X : Y : Z), one field multiplication.
    const multiples: Projective[] = [randomIdentity(), base];
    for (let i = 2; i <= WINDOW_HALF; i++) multiples.push(addProjective(multiples[i - 1]!, base));
    for (let half = 0; half < 2; half++) {
      const [negative, magnitude] = signAndMagnitude(halves[half]!);
      // Never true for secp256k1's reduced basis (noble's own split checks the same bound).
      if (magnitude >> 128n) throw new Error('GLV split out of bounds');
      const table = multiples.map((multiple): Projective => {
        const mapped: Projective = half === 0 ? multiple : [(multiple[0] * GLV_BETA) % P, multiple[1], multiple[2]];
        const flipped = negateProjective(mapped);
        return negative === 1 ? flipped : mapped;
      });
      tables.push(table);
      digits.push(signedDigits(magnitude));
    }
  }
  let acc = randomIdentity();
  for (let window = WINDOWS - 1; window >= 0; window--) {
    if (window !== WINDOWS - 1) for (let i = 0; i < WINDOW; i++) acc = doubleProjective(acc);
    for (let t = 0; t < tables.length; t++) {
      const digit = digits[t]![window]!;
      const sign = digit >> 31; // 0 or -1
      const chosen = select(tables[t]!, (digit ^ sign) - sign);
      const negated = negateProjective(chosen);
      acc = addProjective(acc, sign === 0 ? chosen : negated);
    }
  }
  return fromProjective(acc);
}

/*
 * Fixed-base multiplication by a secret scalar: signed 8-bit windows over a table of
 * d * 2^(8w) * G (d = 0..128, 33 windows, ~4,200 points, ~15 ms to build on first use). One
 * complete addition per window, none skipped (digit 0 adds the identity), every lookup touches the
 * whole row, and the accumulator starts as the identity in a random projective representation,
 * so no two runs see the same intermediate coordinates. Several times faster than G.multiply,
 * which walks a 384-bit blinded scalar (49 windows) with the general formulas.
 */
const BASE_WINDOW = 8;
const BASE_WINDOWS = 33; // 256 bits plus the carry of the signed recoding
const BASE_HALF = 1 << (BASE_WINDOW - 1);
const BASE_MASK = BigInt((1 << BASE_WINDOW) - 1);
let baseTable: Projective[][] | undefined;

function fixedBaseTable(): Projective[][] {
  if (baseTable) return baseTable;
  const rows: Projective[][] = [];
  let base: Projective = [G.X, G.Y, G.Z];
  for (let w = 0; w < BASE_WINDOWS; w++) {
    const row: Projective[] = [[0n, 1n, 0n], base];
    for (let d = 2; d <= BASE_HALF; d++) row.push(addProjective(row[d - 1]!, base));
    rows.push(row);
    base = doubleProjective(row[BASE_HALF]!);
  }
  // Stored reduced to [0, p), so every entry costs the same to add.
  const reduce = (value: bigint) => ((value % P) + P) % P;
  baseTable = rows.map((row) => row.map(([X, Y, Z]): Projective => [reduce(X), reduce(Y), reduce(Z)]));
  return baseTable;
}

/** Fixed-base multiplication for a secret scalar in [1, n), constant-time in its sequence of point operations. */
export function mulG(scalar: bigint): Point {
  if (!(scalar > 0n && scalar < CURVE_ORDER)) throw new RangeError('scalar out of range');
  const table = fixedBaseTable();
  let acc = randomIdentity();
  let carry = 0;
  for (let w = 0; w < BASE_WINDOWS; w++) {
    // Signed digit in [-128, 128]: a digit above 128 borrows from the next window.
    const raw = Number((scalar >> BigInt(w * BASE_WINDOW)) & BASE_MASK) + carry;
    carry = (BASE_HALF - raw) >>> 31; // 1 when raw > 128, without a branch
    const digit = raw - (carry << BASE_WINDOW);
    const sign = digit >> 31; // 0 or -1
    const index = (digit ^ sign) - sign;
    const chosen = select(table[w]!, index);
    const negated = negateProjective(chosen);
    acc = addProjective(acc, sign === 0 ? chosen : negated);
  }
  return fromProjective(acc);
}

/*
 * a G + b K for public scalars (signature verification): variable-time, signed fixed windows over
 * G's table above and a per-key table (6-bit windows: 44 x 33 points, ~5 ms to build, ~0.3 MB),
 * kept in a WeakMap so it goes with the key's entry in the keyPoint() cache. About 75 additions
 * in all, against ~100 of noble's slower general ones through its width-4 table.
 */
const KEY_WINDOW = 6;
const KEY_WINDOWS = Math.ceil(256 / KEY_WINDOW) + 1;
const keyTables = new WeakMap<Point, Projective[][]>();

function windowTable(base: Point, window: number, windows: number): Projective[][] {
  const half = 1 << (window - 1);
  const rows: Projective[][] = [];
  let start: Projective = [base.X, base.Y, base.Z];
  for (let w = 0; w < windows; w++) {
    const row: Projective[] = [[0n, 1n, 0n], start];
    for (let d = 2; d <= half; d++) row.push(addProjective(row[d - 1]!, start));
    rows.push(row);
    start = doubleProjective(row[half]!);
  }
  return rows;
}

/** Adds sum over windows of digit_w * table[w] (signed digits of `scalar`) to acc, skipping zero digits: public scalars only. */
function addWindowsPublic(acc: Projective, table: Projective[][], window: number, scalar: bigint): Projective {
  const half = 1 << (window - 1);
  const mask = BigInt((1 << window) - 1);
  let carry = 0;
  for (let w = 0; w < table.length; w++) {
    const raw = Number((scalar >> BigInt(w * window)) & mask) + carry;
    carry = raw > half ? 1 : 0;
    const digit = raw - (carry << window);
    if (digit > 0) acc = addProjective(acc, table[w]![digit]!);
    else if (digit < 0) acc = addProjective(acc, negateProjective(table[w]![-digit]!));
  }
  return acc;
}

/** a G + b K for public scalars a, b in [0, n) and a key point K from keyPoint(). Variable-time: never for secrets. */
export function mulBaseAndKeyPublic(a: bigint, key: Point, b: bigint): Point {
  if (!(a >= 0n && a < CURVE_ORDER && b >= 0n && b < CURVE_ORDER)) throw new RangeError('scalar out of range');
  let table = keyTables.get(key);
  if (!table) {
    table = windowTable(key, KEY_WINDOW, KEY_WINDOWS);
    keyTables.set(key, table);
  }
  let acc: Projective = [0n, 1n, 0n];
  acc = addWindowsPublic(acc, fixedBaseTable(), BASE_WINDOW, a);
  acc = addWindowsPublic(acc, table, KEY_WINDOW, b);
  return fromProjective(acc);
}

export const mod = (value: bigint): bigint => Fn.create(value);
