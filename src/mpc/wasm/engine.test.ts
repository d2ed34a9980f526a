import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { randomBytes } from '../bytes.js';
import { FIELD_BYTES, POINT_BYTES, pointEngine } from './engine.js';

const Point = secp256k1.Point;
const P = Point.Fp.ORDER;

/*
 * The oracle: the same complete formulas (Renes, Costello and Batina, eprint 2015/1060,
 * algorithms 7 and 9, a = 0) on BigInts, products reduced, sums left as they fall.
 */
type Projective = readonly [bigint, bigint, bigint];
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

/** p - Y rather than -Y: for a reduced point both signs then cost the same to add. */
function negateProjective(a: Projective): Projective {
  return [a[0], P - a[1], a[2]];
}

/** A field element in [0, p), from any value the formulas above leave. */
function reduceField(value: bigint): bigint {
  const reduced = value % P;
  return reduced < 0n ? reduced + P : reduced;
}

/** The same point with every coordinate in [0, p): table entries stored so cost the same to add. */
function reduceProjective([X, Y, Z]: Projective): Projective {
  return [reduceField(X), reduceField(Y), reduceField(Z)];
}

const engine = pointEngine();
const [a, b, out] = [0, 1, 2].map(() => engine.allocate(FIELD_BYTES)) as [number, number, number];
const randomField = () => bytesToNumberBE(randomBytes(40)) % P;
const EDGES = [0n, 1n, 2n, 977n, P - 1n, P - 2n, P - 977n, (P - 1n) / 2n, (P + 1n) / 2n, 1n << 32n, (1n << 32n) + 977n, (1n << 64n) - 1n, 1n << 255n, (1n << 224n) - 1n];
const modP = (value: bigint) => ((value % P) + P) % P;

const writePoint = (at: number, point: Projective) => engine.writePoint(at, point);
const readPoint = (at: number): Projective => engine.readPoint(at);
/** A point in projective form with a random Z, reduced. */
function randomPoint(): Projective {
  const point = Point.BASE.multiply(bytesToNumberBE(randomBytes(32)) % Point.Fn.ORDER || 1n);
  const z = randomField() || 1n;
  return reduceProjective([point.X * z, point.Y * z, point.Z * z]);
}
const sameAffine = (left: Projective, right: Projective) => new Point(...reduceProjective(left)).equals(new Point(...reduceProjective(right)));

describe('point engine: field arithmetic', () => {
  it('multiplies, adds and subtracts mod p into [0, p) like BigInts, for edge and random elements', () => {
    const values = [...EDGES, ...Array.from({ length: 120 }, randomField)];
    for (const x of values) {
      for (const y of values) {
        engine.writeField(a, x);
        engine.writeField(b, y);
        engine.fe_mul(out, a, b);
        expect(engine.readField(out)).toBe(modP(x * y));
        engine.fe_add(out, a, b);
        expect(engine.readField(out)).toBe(modP(x + y));
        engine.fe_sub(out, a, b);
        expect(engine.readField(out)).toBe(modP(x - y));
      }
    }
  });

  it('reduces products whose first fold carries out of 2^256 (the second fold), which random inputs almost never reach', () => {
    // a = 2^255, b = 2h with h = ceil(j 2^256 / (2^32 + 977)) - 1: the folded high half lands just under a multiple of 2^256.
    const x = 1n << 255n;
    for (const j of [2n, 3n, 977n, 65_537n, (1n << 20n) + 1n, (1n << 31n) - 1n, ...Array.from({ length: 40 }, () => 2n + (bytesToNumberBE(randomBytes(4)) % ((1n << 31n) - 2n)))]) {
      const h = (j * (1n << 256n) + (1n << 32n) + 976n) / ((1n << 32n) + 977n) - 1n;
      const y = 2n * h;
      engine.writeField(a, x);
      engine.writeField(b, y);
      engine.fe_mul(out, a, b);
      expect(engine.readField(out)).toBe(modP(x * y));
    }
  });

  it('raises to public exponents like BigInts, and refuses exponents of 2^256 and more', () => {
    const modPow = (base: bigint, exponent: bigint) => {
      let result = 1n;
      for (let x = base, e = exponent; e > 0n; e >>= 1n, x = (x * x) % P) if (e & 1n) result = (result * x) % P;
      return result;
    };
    for (const exponent of [0n, 1n, 2n, 15n, 16n, P - 2n, (P + 1n) / 4n, (1n << 256n) - 1n]) {
      const x = randomField();
      engine.writeField(a, x);
      engine.pow(out, a, exponent);
      expect(engine.readField(out)).toBe(modPow(x, exponent));
    }
    expect(() => engine.pow(out, a, 1n << 256n)).toThrow(RangeError);
    expect(() => engine.pow(out, a, -1n)).toThrow(RangeError);
  });

  it('refuses to load a value that is not a field element', () => {
    expect(() => engine.writeField(a, P)).toThrow(RangeError);
    expect(() => engine.writeField(a, -1n)).toThrow(RangeError);
  });

  it('gives the right result when the output is one of the inputs', () => {
    const x = randomField();
    const y = randomField();
    engine.writeField(a, x);
    engine.writeField(b, y);
    engine.fe_mul(a, a, b);
    expect(engine.readField(a)).toBe(modP(x * y));
    engine.fe_mul(b, b, b);
    expect(engine.readField(b)).toBe(modP(y * y));
  });
});

describe('point engine: points', () => {
  const [p, q, r] = [0, 1, 2].map(() => engine.allocate(POINT_BYTES)) as [number, number, number];

  it('adds and doubles with the same coordinates as the BigInt formulas, reduced', () => {
    for (let i = 0; i < 100; i++) {
      const left = randomPoint();
      const right = randomPoint();
      writePoint(p, left);
      writePoint(q, right);
      engine.pt_add(r, p, q);
      expect(readPoint(r)).toEqual(reduceProjective(addProjective(left, right)));
      engine.pt_double(r, p);
      expect(readPoint(r)).toEqual(reduceProjective(doubleProjective(left)));
    }
  });

  it('is complete: P + P, P + (-P), P + O and O + O', () => {
    const point = randomPoint();
    const identity: Projective = [0n, randomField() || 1n, 0n];
    writePoint(p, point);
    engine.pt_add(r, p, p);
    expect(sameAffine(readPoint(r), doubleProjective(point))).toBe(true);
    writePoint(q, negateProjective(point));
    engine.pt_add(r, p, q);
    expect(new Point(...readPoint(r)).is0()).toBe(true);
    writePoint(q, identity);
    engine.pt_add(r, p, q);
    expect(sameAffine(readPoint(r), point)).toBe(true);
    engine.pt_add(r, q, q);
    expect(new Point(...readPoint(r)).is0()).toBe(true);
  });

  it('adds digit * P for every odd digit of a row, negative ones included, in place', () => {
    const entries = Array.from({ length: 16 }, randomPoint);
    const row = engine.allocate(entries.length * POINT_BYTES);
    entries.forEach((entry, j) => writePoint(row + j * POINT_BYTES, entry));
    for (let index = 0; index < entries.length; index++) {
      for (const negative of [0, 1]) {
        const start = randomPoint();
        writePoint(p, start);
        engine.pt_add_selected(p, row, entries.length, negative ? -(2 * index + 1) : 2 * index + 1);
        const entry = negative ? negateProjective(entries[index]!) : entries[index]!;
        expect(readPoint(p)).toEqual(reduceProjective(addProjective(start, reduceProjective(entry))));
      }
    }
  });
});
