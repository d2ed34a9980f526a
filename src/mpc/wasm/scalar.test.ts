import { describe, expect, it } from 'vitest';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { randomBytes } from '../bytes.js';
import { CURVE_ORDER } from '../curve.js';
import { ACCUMULATOR_BYTES, pointEngine } from './engine.js';

const N = CURVE_ORDER;
const engine = pointEngine();
const acc = engine.allocate(ACCUMULATOR_BYTES);
const [a, b, out] = [0, 1, 2].map(() => engine.allocate(32)) as [number, number, number];
const MAX = (1n << 256n) - 1n;
const EDGES = [0n, 1n, 2n, N - 1n, N, N + 1n, MAX, MAX - 1n, 1n << 255n, (1n << 128n) - 1n, 0xffffffffn, 1n << 32n, (1n << 256n) - N];
const random256 = () => bytesToNumberBE(randomBytes(32));
const mod = (value: bigint) => ((value % N) + N) % N;

function accumulate(pairs: Array<[bigint, bigint]>): void {
  for (const [x, y] of pairs) {
    engine.bytes.set(numberToBytesBE(x, 32), a);
    engine.bytes.set(numberToBytesBE(y, 32), b);
    engine.sc_mac(acc, a, b);
  }
}
function reduce(negate: boolean): bigint {
  engine.sc_reduce(out, acc, negate ? 1 : 0);
  return bytesToNumberBE(engine.bytes.slice(out, out + 32));
}

describe('scalar sums in the module', () => {
  it('reduces one product of any two 256-bit integers mod n, negated or not', () => {
    const values = [...EDGES, ...Array.from({ length: 60 }, random256)];
    for (const x of values) {
      for (const y of values) {
        accumulate([[x, y]]);
        expect(reduce(false)).toBe(mod(x * y));
        accumulate([[x, y]]);
        expect(reduce(true)).toBe(mod(-(x * y)));
      }
    }
  });

  it('reduces sums of many products, up to the largest a multiplication makes and beyond', () => {
    for (const count of [2, 3, 416, 1248, 5000]) {
      const pairs = Array.from({ length: count }, (_, i): [bigint, bigint] => (i % 3 === 0 ? [MAX, MAX] : [random256(), random256()]));
      accumulate(pairs);
      expect(reduce(false)).toBe(mod(pairs.reduce((sum, [x, y]) => sum + x * y, 0n)));
    }
  });

  it('negates for any non-zero negate flag, not only 1', () => {
    const x = random256();
    accumulate([[x, 1n]]);
    engine.sc_reduce(out, acc, 2);
    expect(bytesToNumberBE(engine.bytes.slice(out, out + 32))).toBe(mod(-x));
  });

  it('gives 0 for sums that are multiples of n, negated or not, and zeroes the accumulator', () => {
    accumulate([[N, random256()]]);
    expect(reduce(true)).toBe(0n);
    accumulate([[N - 1n, 1n], [1n, 1n]]);
    expect(reduce(false)).toBe(0n);
    expect(engine.bytes.slice(acc, acc + ACCUMULATOR_BYTES).every((byte) => byte === 0)).toBe(true);
    expect(reduce(false)).toBe(0n);
  });
});
