import { describe, expect, it } from 'vitest';
import { CURVE_ORDER, Fn, G, keyPoint, mulBaseAndKeyPublic, mulG, mulSecretSum, pointToBytes, randomScalar } from './curve.js';

describe('mulG', () => {
  it('matches noble for edge and random scalars', () => {
    const byteRuns = [0x80n, 0x81n, 0x7fn, 0xffn].map((byte) => BigInt(`0x${byte.toString(16).repeat(31)}`));
    const edges = [1n, 2n, 127n, 128n, 129n, 255n, 256n, CURVE_ORDER - 1n, CURVE_ORDER - 128n, CURVE_ORDER >> 1n, ...byteRuns];
    for (const k of edges) expect(mulG(k).equals(G.multiply(k))).toBe(true);
    for (let i = 0; i < 300; i++) {
      const k = randomScalar();
      expect(mulG(k).equals(G.multiply(k))).toBe(true);
    }
  });

  it('refuses zero and out-of-range scalars', () => {
    expect(() => mulG(0n)).toThrow(RangeError);
    expect(() => mulG(CURVE_ORDER)).toThrow(RangeError);
  });
});

describe('mulSecretSum', () => {
  const P = mulG(randomScalar());
  const Q = mulG(randomScalar());

  it('matches noble for edge scalars', () => {
    const edges = [1n, 2n, 3n, CURVE_ORDER - 1n, CURVE_ORDER - 2n, 1n << 128n, (1n << 128n) - 1n, 1n << 255n, CURVE_ORDER >> 1n, (CURVE_ORDER >> 1n) + 1n];
    for (const k of edges) {
      expect(mulSecretSum([[P, k]]).equals(P.multiply(k))).toBe(true);
      expect(mulSecretSum([[G, k]]).equals(G.multiply(k))).toBe(true);
    }
  });

  it('matches noble for random one- and two-point sums', () => {
    for (let i = 0; i < 200; i++) {
      const a = randomScalar();
      const b = randomScalar();
      expect(mulSecretSum([[P, a]]).equals(P.multiply(a))).toBe(true);
      expect(mulSecretSum([[P, a], [Q, b]]).equals(P.multiply(a).add(Q.multiply(b)))).toBe(true);
    }
  });

  it('handles points in non-normalised projective form and sums that cancel', () => {
    const projective = P.add(Q).subtract(Q); // same point, Z != 1
    const k = randomScalar();
    expect(mulSecretSum([[projective, k]]).equals(P.multiply(k))).toBe(true);
    expect(mulSecretSum([[P, k], [P.negate(), k]]).is0()).toBe(true);
    expect(mulSecretSum([[P, k], [P, Fn.neg(k)]]).is0()).toBe(true);
  });

  it('gives the same point with different internal coordinates on every call', () => {
    const k = randomScalar();
    const first = mulSecretSum([[P, k], [Q, k]]);
    const second = mulSecretSum([[P, k], [Q, k]]);
    expect(first.equals(second)).toBe(true);
    expect(first.Z).not.toBe(second.Z);
  });

  it('refuses no terms, zero, out-of-range scalars and the identity', () => {
    expect(() => mulSecretSum([])).toThrow(RangeError);
    expect(() => mulSecretSum([[P, 0n]])).toThrow(RangeError);
    expect(() => mulSecretSum([[P, CURVE_ORDER]])).toThrow(RangeError);
    expect(() => mulSecretSum([[P.subtract(P), 5n]])).toThrow(RangeError);
  });
});

describe('mulBaseAndKeyPublic (verification)', () => {
  it('matches noble for edge and random public scalars', () => {
    const key = keyPoint(pointToBytes(mulG(randomScalar())));
    const edges = [0n, 1n, 31n, 32n, 33n, 63n, 64n, 127n, 128n, 129n, CURVE_ORDER - 1n, CURVE_ORDER >> 1n];
    for (const a of edges) {
      for (const b of edges) {
        const expected = G.multiplyUnsafe(a).add(key.multiplyUnsafe(b));
        expect(mulBaseAndKeyPublic(a, key, b).equals(expected)).toBe(true);
      }
    }
    for (let i = 0; i < 200; i++) {
      const a = randomScalar();
      const b = randomScalar();
      expect(mulBaseAndKeyPublic(a, key, b).equals(G.multiply(a).add(key.multiply(b)))).toBe(true);
    }
  });

  it('refuses out-of-range scalars', () => {
    const key = keyPoint(pointToBytes(mulG(5n)));
    expect(() => mulBaseAndKeyPublic(CURVE_ORDER, key, 1n)).toThrow(RangeError);
    expect(() => mulBaseAndKeyPublic(1n, key, -1n)).toThrow(RangeError);
  });
});
