import { secp256k1 } from '@noble/curves/secp256k1.js';

const Point = secp256k1.Point;
type Point = InstanceType<typeof secp256k1.Point>;

/*
 * Point arithmetic on plain projective
 * coordinates [X, Y, Z] (x = X/Z, y = Y/Z). The formulas are the complete ones of Renes, Costello
 * and Batina (eprint 2015/1060) for a = 0, algorithms 7 (addition) and 9 (doubling): no special
 * case for the identity or for doubling.
 * @noble/curves runs the general-a formulas and reduces after every field operation (~40 BigInt
 * divisions per addition); here only products are reduced (14 per addition, 9 per doubling) and
 * sums and differences stay unreduced, which BigInt allows: values stay within a few multiples of p.
 */
export type Projective = readonly [bigint, bigint, bigint];
const P = Point.Fp.ORDER;
const B3 = 21n; // 3 * b, b = 7

export function addProjective(a: Projective, b: Projective): Projective {
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

export function doubleProjective(a: Projective): Projective {
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
export function negateProjective(a: Projective): Projective {
  return [a[0], P - a[1], a[2]];
}

/** A field element in [0, p), from any value the formulas above leave. */
export function reduceField(value: bigint): bigint {
  const reduced = value % P;
  return reduced < 0n ? reduced + P : reduced;
}

/** The same point with every coordinate in [0, p): table entries stored so cost the same to add. */
export function reduceProjective([X, Y, Z]: Projective): Projective {
  return [reduceField(X), reduceField(Y), reduceField(Z)];
}

export function fromProjective(a: Projective): Point {
  const [X, Y, Z] = reduceProjective(a);
  return new Point(X, Y, Z);
}

export function toProjective(point: Point): Projective {
  return [point.X, point.Y, point.Z];
}
