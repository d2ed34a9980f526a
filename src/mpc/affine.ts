/*
 * Field inversions and square roots on the point engine (src/mpc/wasm), for the two places a
 * signature needs them: a point's affine form (for its encoding, and so later operations need no
 * inversion) and the decoding of compressed points from peers. @noble/curves does both with BigInt
 * arithmetic (a square root is ~255 BigInt squarings); here both are exponentiations with fixed
 * public exponents, whose sequence of operations does not depend on the point.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { FIELD_BYTES, moduleArea, type PointEngine } from './wasm/engine.js';

type Point = InstanceType<typeof secp256k1.Point>;
const Point = secp256k1.Point;
const P = Point.Fp.ORDER;
const INVERSE_EXPONENT = P - 2n;
/** p = 3 mod 4, so a square root of a square t is t^((p + 1) / 4). */
const SQRT_EXPONENT = (P + 1n) / 4n;

interface Fields {
  engine: PointEngine;
  zero: number;
  seven: number;
  a: number;
  b: number;
  c: number;
}
const workspace = moduleArea((engine): Fields => {
  const [zero, seven] = [0, 1].map(() => engine.allocate(FIELD_BYTES)) as [number, number];
  // a, b and c are contiguous: affinePoint wipes them in one go.
  const a = engine.allocate(3 * FIELD_BYTES);
  const [b, c] = [a + FIELD_BYTES, a + 2 * FIELD_BYTES];
  engine.writeField(seven, 7n);
  return { engine, zero, seven, a, b, c };
});

/** The same point with Z = 1 (the identity as it is). */
export function affinePoint(point: Point): Point {
  if (point.Z === 1n || point.is0()) return point;
  const { engine, a, b, c } = workspace();
  engine.writeField(a, point.Z);
  engine.pow(a, a, INVERSE_EXPONENT);
  engine.writeField(b, point.X);
  engine.writeField(c, point.Y);
  engine.fe_mul(b, b, a);
  engine.fe_mul(c, c, a);
  const affine = new Point(engine.readField(b), engine.readField(c), 1n);
  // Points normalised here may come from secrets (the base OT's shared points): nothing stays behind.
  engine.wipe(a, 3 * FIELD_BYTES);
  return affine;
}

/**
 * The point of a 33-byte compressed encoding, or undefined when it encodes none: a bad prefix,
 * x not below p, or x^3 + 7 not a square. Never the identity, which has no compressed form.
 */
export function decompressPoint(bytes: Uint8Array): Point | undefined {
  const prefix = bytes[0];
  if (bytes.length !== 33 || (prefix !== 2 && prefix !== 3)) return undefined;
  const x = bytesToNumberBE(bytes.subarray(1));
  if (x >= P) return undefined;
  const { engine, zero, seven, a, b, c } = workspace();
  engine.writeField(a, x);
  engine.fe_mul(b, a, a);
  engine.fe_mul(b, b, a);
  engine.fe_add(b, b, seven);
  engine.pow(c, b, SQRT_EXPONENT);
  engine.fe_mul(a, c, c);
  if (engine.readField(a) !== engine.readField(b)) return undefined;
  let y = engine.readField(c);
  if (Number(y & 1n) !== (prefix & 1)) {
    engine.fe_sub(c, zero, c);
    y = engine.readField(c);
  }
  return new Point(x, y, 1n);
}
