import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { randomBytes } from './bytes.js';
import { affinePoint, decompressPoint } from './affine.js';
import { randomScalar } from './curve.js';

const Point = secp256k1.Point;
const P = Point.Fp.ORDER;

describe('decompressPoint', () => {
  it('decodes what noble encodes, for both parities and for G and -G', () => {
    const points = [Point.BASE, Point.BASE.negate(), ...Array.from({ length: 100 }, () => Point.BASE.multiply(randomScalar()))];
    for (const point of points) {
      const decoded = decompressPoint(point.toBytes(true));
      expect(decoded?.equals(point)).toBe(true);
      expect(decoded?.Z).toBe(1n);
    }
  });

  it('refuses x with no point, x not below p, and bad prefixes or lengths, as noble does', () => {
    let offCurve = 0;
    for (let i = 0; i < 60; i++) {
      const bytes = Uint8Array.of(2 + (i & 1), ...randomBytes(32));
      let nobleAccepts = true;
      try {
        Point.fromBytes(bytes).assertValidity();
      } catch {
        nobleAccepts = false;
        offCurve++;
      }
      expect(decompressPoint(bytes) !== undefined).toBe(nobleAccepts);
    }
    expect(offCurve).toBeGreaterThan(0);
    const valid = Point.BASE.toBytes(true);
    expect(decompressPoint(Uint8Array.of(2, ...numberToBytesBE(P, 32)))).toBeUndefined();
    expect(decompressPoint(Uint8Array.of(3, ...numberToBytesBE(P + 1n, 32)))).toBeUndefined();
    expect(decompressPoint(Uint8Array.of(4, ...valid.subarray(1)))).toBeUndefined();
    expect(decompressPoint(valid.subarray(0, 32))).toBeUndefined();
  });
});

describe('affinePoint', () => {
  it('gives the same point with Z = 1, and leaves the identity alone', () => {
    for (let i = 0; i < 50; i++) {
      const point = Point.BASE.multiply(randomScalar()).add(Point.BASE.multiply(randomScalar()));
      expect(point.Z).not.toBe(1n);
      const affine = affinePoint(point);
      expect(affine.Z).toBe(1n);
      expect(affine.toAffine()).toEqual(point.toAffine());
    }
    expect(affinePoint(Point.ZERO).is0()).toBe(true);
  });
});
