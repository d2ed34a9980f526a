import { describe, expect, it } from 'vitest';
import { CURVE_ORDER, G, mulG, randomScalar } from './curve.js';
import { blindedOdd, glvHalves, mulSecretSum, regularDigits } from './secret-multiply.js';

const LAMBDA = 0x5363ad4cc05c30e0a5261c028812645a122e22ea20816678df02967c1b23bd72n;
const mod = (value: bigint) => ((value % CURVE_ORDER) + CURVE_ORDER) % CURVE_ORDER;

function valueOf(digits: Int16Array, window: number): bigint {
  let value = 0n;
  for (let i = digits.length - 1; i >= 0; i--) value = (value << BigInt(window)) + BigInt(digits[i]!);
  return value;
}

describe('regularDigits', () => {
  it('gives only odd, non-zero digits in range that add up to the value, for extreme and random values', () => {
    const values = [1n, 3n, (1n << 320n) - 1n, (1n << 319n) + 1n, CURVE_ORDER, ...Array.from({ length: 200 }, () => blindedOdd(randomScalar()))];
    for (const window of [5, 8]) {
      const count = 320 / window + 1;
      for (const value of values) {
        const digits = regularDigits(value, window, count);
        expect(digits.length).toBe(count);
        for (const digit of digits) {
          expect(Math.abs(digit) % 2).toBe(1);
          expect(Math.abs(digit)).toBeLessThan(1 << window);
        }
        expect(valueOf(digits, window)).toBe(value);
      }
    }
  });

  it('refuses even values and values too wide for the digits', () => {
    expect(() => regularDigits(2n, 5, 65)).toThrow(RangeError);
    expect(() => regularDigits((1n << 320n) + 1n, 5, 65)).toThrow(RangeError);
  });
});

describe('blindedOdd', () => {
  it('is odd, congruent to the scalar, 319 or 320 bits, and different on every call', () => {
    const seen = new Set<bigint>();
    for (const k of [1n, 2n, CURVE_ORDER - 1n, CURVE_ORDER - 2n, ...Array.from({ length: 100 }, randomScalar)]) {
      const blinded = blindedOdd(k);
      expect(blinded & 1n).toBe(1n);
      expect(blinded % CURVE_ORDER).toBe(k);
      expect(blinded >> 318n).toBeGreaterThanOrEqual(1n);
      expect(blinded >> 320n).toBe(0n);
      expect(seen.has(blinded)).toBe(false);
      seen.add(blinded);
    }
  });
});

describe('mulG', () => {
  it('gives the same point with different internal coordinates on every call', () => {
    const k = randomScalar();
    const first = mulG(k);
    const second = mulG(k);
    expect(first.equals(G.multiply(k))).toBe(true);
    expect(first.equals(second)).toBe(true);
    expect(first.Z).not.toBe(second.Z);
  });
});

describe('glvHalves', () => {
  const edges = [1n, 2n, 3n, LAMBDA, mod(-LAMBDA), mod(LAMBDA + 1n), CURVE_ORDER - 1n, CURVE_ORDER - 2n, 1n << 128n, (1n << 128n) - 1n, 1n << 255n, CURVE_ORDER >> 1n];

  it('gives odd halves below 2^162 that recombine to the scalar, for edge and random scalars', () => {
    for (const k of [...edges, ...Array.from({ length: 300 }, randomScalar)]) {
      const [k1, k2] = glvHalves(k);
      expect(k1 & 1n).toBe(1n);
      expect(k2 & 1n).toBe(1n);
      expect((k1 < 0n ? -k1 : k1) >> 162n).toBe(0n);
      expect((k2 < 0n ? -k2 : k2) >> 162n).toBe(0n);
      expect(mod(k1 + k2 * LAMBDA)).toBe(k);
    }
  });

  it('splits the same scalar differently on every call', () => {
    const k = randomScalar();
    const splits = new Set(Array.from({ length: 20 }, () => glvHalves(k).join(',')));
    expect(splits.size).toBe(20);
  });

  it('multiplies correctly at scalars whose plain split has a zero or tiny half', () => {
    const point = mulG(randomScalar());
    for (const k of edges) expect(mulSecretSum([[point, k]]).equals(point.multiply(k))).toBe(true);
  });
});
