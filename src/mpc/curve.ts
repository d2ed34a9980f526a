import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { DecodeError } from './errors.js';
import { bytesToHex, randomBytes } from './bytes.js';
import { affinePoint, decompressPoint } from './affine.js';
import { FIELD_BYTES, POINT_BYTES as ENGINE_POINT_BYTES, moduleArea, type PointEngine } from './wasm/engine.js';

export const Point = secp256k1.Point;
export type Point = InstanceType<typeof secp256k1.Point>;
export const Fn = secp256k1.Point.Fn;
export const CURVE_ORDER = Fn.ORDER;
export const G = Point.BASE;
// A wider table than noble's default for the multiplications of G that still go through noble
// (proof verification, DKG and backup checks; mulG has its own tables): a one-time ~60 ms, built on first use.
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
  return affinePoint(point).toBytes(true);
}

/** Checklist item 2: points from peers must be on the curve and not the identity. */
export function pointFromBytes(bytes: Uint8Array): Point {
  if (bytes.length !== POINT_BYTES) throw new DecodeError('bad-encoding', `point must be ${POINT_BYTES} bytes compressed, got ${bytes.length}`);
  const point = decompressPoint(bytes);
  if (!point) throw new DecodeError('invalid-point', 'not a point on secp256k1: bad prefix, x not below p, or x^3 + 7 not a square');
  try {
    point.assertValidity();
  } catch (cause) {
    throw new DecodeError('invalid-point', `not a point on secp256k1: ${(cause as Error).message}`);
  }
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

/** Sum of k_i * P_i for secret k_i in [1, n) and valid points other than the identity (see secret-multiply.ts). */
export { mulSecretSum } from './secret-multiply.js';

/** Fixed-base multiplication for a secret scalar in [1, n) (see secret-multiply.ts). */
export { mulBaseSecret as mulG } from './secret-multiply.js';

/*
 * Public scalars (signature verification) go through signed fixed windows of d * 2^(8w) * G
 * (d = 0..128, 33 windows, ~4,200 points, built on first use) and a per-key table below, on the
 * point engine's complete formulas: variable-time (zero digits are skipped), so never for secrets.
 * Tables are plain bytes in the engine's point format, copied into its memory entry by entry, so
 * that a per-key table goes with its key when the key's cache entry does.
 */
const BASE_WINDOW = 8;
const BASE_WINDOWS = 33; // 256 bits plus the carry of the signed recoding
let baseTable: WindowTable | undefined;

/** Rows of d * 2^(window w) * P for d = 0..2^(window - 1), in the engine's point format. */
interface WindowTable {
  bytes: Uint8Array;
  rows: number;
  rowEntries: number;
}

/*
 * a G + b K for public scalars (signature verification): G's table above and a per-key table
 * (6-bit windows: 44 x 33 points, ~140 KB), kept in a WeakMap so it goes with the key's entry in
 * the keyPoint() cache. About 75 additions in all.
 */
const KEY_WINDOW = 6;
const KEY_WINDOWS = Math.ceil(256 / KEY_WINDOW) + 1;
const keyTables = new WeakMap<Point, WindowTable>();

interface PublicWorkspace {
  engine: PointEngine;
  zero: number;
  acc: number;
  entry: number;
  start: number;
}
// zero is never written: allocated memory starts zeroed.
const publicEngine = moduleArea(
  (engine): PublicWorkspace => ({ engine, zero: engine.allocate(FIELD_BYTES), acc: engine.allocate(ENGINE_POINT_BYTES), entry: engine.allocate(ENGINE_POINT_BYTES), start: engine.allocate(ENGINE_POINT_BYTES) }),
);

function writeIdentity(w: PublicWorkspace, at: number): void {
  w.engine.writePoint(at, [0n, 1n, 0n]);
}

function windowTable(base: Point, window: number, windows: number): WindowTable {
  const w = publicEngine();
  const rowEntries = (1 << (window - 1)) + 1;
  const table = { bytes: new Uint8Array(windows * rowEntries * ENGINE_POINT_BYTES), rows: windows, rowEntries };
  w.engine.writePoint(w.start, [base.X, base.Y, base.Z]);
  for (let row = 0; row < windows; row++) {
    const at = row * rowEntries * ENGINE_POINT_BYTES;
    writeIdentity(w, w.entry);
    w.engine.save(w.entry, table.bytes, at);
    for (let d = 1; d < rowEntries; d++) {
      w.engine.pt_add(w.entry, w.entry, w.start);
      w.engine.save(w.entry, table.bytes, at + d * ENGINE_POINT_BYTES);
    }
    w.engine.pt_double(w.start, w.entry);
  }
  return table;
}

/** Adds sum over windows of digit_w * table[w] (signed digits of `scalar`) to the accumulator, skipping zero digits: public scalars only. */
function addWindowsPublic(w: PublicWorkspace, table: WindowTable, window: number, scalar: bigint): void {
  const half = 1 << (window - 1);
  const mask = BigInt((1 << window) - 1);
  let carry = 0;
  for (let row = 0; row < table.rows; row++) {
    const raw = Number((scalar >> BigInt(row * window)) & mask) + carry;
    carry = raw > half ? 1 : 0;
    const digit = raw - (carry << window);
    if (digit === 0) continue;
    if (Math.abs(digit) >= table.rowEntries) throw new RangeError('digit outside its table row');
    const at = (row * table.rowEntries + Math.abs(digit)) * ENGINE_POINT_BYTES;
    w.engine.load(w.entry, table.bytes.subarray(at, at + ENGINE_POINT_BYTES));
    if (digit < 0) w.engine.fe_sub(w.entry + FIELD_BYTES, w.zero, w.entry + FIELD_BYTES);
    w.engine.pt_add(w.acc, w.acc, w.entry);
  }
}

/** a G + b K for public scalars a, b in [0, n) and a key point K from keyPoint(). Variable-time: never for secrets. */
export function mulBaseAndKeyPublic(a: bigint, key: Point, b: bigint): Point {
  if (!(a >= 0n && a < CURVE_ORDER && b >= 0n && b < CURVE_ORDER)) throw new RangeError('scalar out of range');
  let table = keyTables.get(key);
  if (!table) {
    table = windowTable(key, KEY_WINDOW, KEY_WINDOWS);
    keyTables.set(key, table);
  }
  baseTable ??= windowTable(G, BASE_WINDOW, BASE_WINDOWS);
  const w = publicEngine();
  writeIdentity(w, w.acc);
  addWindowsPublic(w, baseTable, BASE_WINDOW, a);
  addWindowsPublic(w, table, KEY_WINDOW, b);
  const [X, Y, Z] = w.engine.readPoint(w.acc);
  return new Point(X, Y, Z);
}

export const mod = (value: bigint): bigint => Fn.create(value);
