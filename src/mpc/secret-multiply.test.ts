import { describe, expect, it } from 'vitest';
import { CURVE_ORDER, G, mulG, randomScalar } from './curve.js';
import { glvHalves, mulSecretSum, regularDigits } from './secret-multiply.js';

const LAMBDA = 0x5363ad4cc05c30e0a5261c028812645a122e22ea20816678df02967c1b23bd72n;
const mod = (value: bigint) => ((value % CURVE_ORDER) + CURVE_ORDER) % CURVE_ORDER;

function valueOf(digits: Int16Array, window: number): bigint {
  let value = 0n;
  for (let i = digits.length - 1; i >= 0; i--) value = (value << BigInt(window)) + BigInt(digits[i]!);
  return value;
}

describe('regularDigits', () => {
  it('gives only odd, non-zero digits in range that add up to the value, for extreme and random values', () => {
    const halves = Array.from({ length: 200 }, () => glvHalves(randomScalar())).flat().map((half) => (half < 0n ? -half : half));
    for (const [window, count] of [[5, 40], [8, 26]] as const) {
      const bits = window * (count - 1);
      for (const value of [1n, 3n, (1n << BigInt(bits)) - 1n, (1n << BigInt(bits - 1)) + 1n, ...halves]) {
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
    expect(() => regularDigits(2n, 5, 40)).toThrow(RangeError);
    expect(() => regularDigits((1n << 195n) + 1n, 5, 40)).toThrow(RangeError);
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

  it('gives odd halves below 2^194 that recombine to the scalar, for edge and random scalars', () => {
    for (const k of [...edges, ...Array.from({ length: 300 }, randomScalar)]) {
      const [k1, k2] = glvHalves(k);
      expect(k1 & 1n).toBe(1n);
      expect(k2 & 1n).toBe(1n);
      expect((k1 < 0n ? -k1 : k1) >> 194n).toBe(0n);
      expect((k2 < 0n ? -k2 : k2) >> 194n).toBe(0n);
      expect(mod(k1 + k2 * LAMBDA)).toBe(k);
    }
  });

  it('splits the same scalar differently on every call, down to the top and bottom digits', () => {
    for (const k of [1n, CURVE_ORDER - 1n, randomScalar()]) {
      const splits = Array.from({ length: 20 }, () => glvHalves(k));
      expect(new Set(splits.map((split) => split.join(','))).size).toBe(20);
      const topDigits = new Set(splits.map(([k1]) => (k1 < 0n ? -k1 : k1) >> 186n));
      const lowDigits = new Set(splits.map(([k1]) => (k1 < 0n ? -k1 : k1) & 0xffn));
      expect(topDigits.size).toBeGreaterThan(5);
      expect(lowDigits.size).toBeGreaterThan(5);
    }
  });

  it('stays correct, odd and masked whatever the random bytes, negative halves included', () => {
    const sources = [new Uint8Array(24), new Uint8Array(24).fill(0xff), new Uint8Array(24).fill(0x80), Uint8Array.from({ length: 24 }, (_, i) => i * 37)];
    let negative = 0;
    for (const k of edges) {
      for (const random of sources) {
        const [k1, k2] = glvHalves(k, random);
        if (k1 < 0n || k2 < 0n) negative++;
        expect(k1 & 1n).toBe(1n);
        expect(k2 & 1n).toBe(1n);
        expect(mod(k1 + k2 * LAMBDA)).toBe(k);
        // The top bit of each random coefficient is always set: even all-zero bytes leave a ~2^190 mask.
        expect((k1 < 0n ? -k1 : k1) >> 185n).toBeGreaterThan(0n);
      }
    }
    expect(negative).toBeGreaterThan(0);
  });

  it('multiplies correctly at scalars whose plain split has a zero or tiny half', () => {
    const point = mulG(randomScalar());
    for (const k of edges) expect(mulSecretSum([[point, k]]).equals(point.multiply(k))).toBe(true);
  });
});
