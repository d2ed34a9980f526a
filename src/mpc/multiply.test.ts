import { describe, expect, it } from 'vitest';
import { randomBytes } from './bytes.js';
import { CURVE_ORDER, Fn, randomScalar, readScalar } from './curve.js';
import { baseOtReceive, baseOtSenderFinish, baseOtSenderStart } from './ot/base.js';
import { mulAlice, mulBobFinish, mulBobStart, MUL_ROWS, writeCorrection } from './multiply.js';

const context = randomBytes(32);
const start = baseOtSenderStart(context);
const received = baseOtReceive(context, start.message);
const bobSetup = baseOtSenderFinish(context, start.state, received.message);
const aliceSetup = { delta: received.delta, seeds: received.seeds };

function run(inputs: bigint[], tamper?: (message: Uint8Array) => void) {
  const binding = randomBytes(32);
  const rowKey = randomBytes(32);
  const bob = mulBobStart(bobSetup, binding);
  const alice = mulAlice(aliceSetup, binding, rowKey, inputs, bob.message);
  const message = alice.message.slice();
  tamper?.(message);
  const finished = mulBobFinish(bob.state, rowKey, message);
  return { alice: alice.shares, bob: finished.shares, b: bob.state.input, transcripts: [alice.transcript, finished.transcript] };
}

describe('random vector OLE', () => {
  it('gives additive shares of a_i * b for both inputs, over several runs', () => {
    for (let run_ = 0; run_ < 5; run_++) {
      const inputs = [randomScalar(), randomScalar()];
      const { alice, bob, b } = run(inputs);
      for (let i = 0; i < 2; i++) expect(Fn.add(alice[i]!, bob[i]!)).toBe(Fn.mul(inputs[i]!, b));
    }
  });

  it('gives both sides the same transcript of the exchange, and a different one each run', () => {
    const first = run([randomScalar(), randomScalar()]).transcripts;
    const second = run([randomScalar(), randomScalar()]).transcripts;
    expect(first[0]).toEqual(first[1]);
    expect(first[0]).not.toEqual(second[0]);
  });

  it("gives Bob a fresh random input each run", () => {
    expect(run([1n, 2n]).b).not.toBe(run([1n, 2n]).b);
  });

  it('detects a sender that changes one correlation row', () => {
    expect(() => run([randomScalar(), randomScalar()], (m) => { m[32 * 3 * 7 + 31]! ^= 1; })).toThrow(/multiplication check failed/);
  });

  it('gives correct shares right after a run that failed its check (no sums are carried over)', () => {
    expect(() => run([randomScalar(), randomScalar()], (m) => { m[32 * 3 * 11 + 2]! ^= 1; })).toThrow(/multiplication check failed/);
    const inputs = [randomScalar(), randomScalar()];
    const { alice, bob, b } = run(inputs);
    for (let i = 0; i < 2; i++) expect(Fn.add(alice[i]!, bob[i]!)).toBe(Fn.mul(inputs[i]!, b));
  });

  it('detects a tampered check value', () => {
    expect(() => run([randomScalar(), randomScalar()], (m) => { m[MUL_ROWS * 3 * 32 + 32 + 5]! ^= 1; })).toThrow(/multiplication check failed/);
  });
});

describe('writeCorrection (32-bit words)', () => {
  const bytes256 = (value: bigint) => {
    const out = new Uint8Array(32);
    new DataView(out.buffer).setBigUint64(0, value >> 192n);
    new DataView(out.buffer).setBigUint64(8, (value >> 128n) & 0xffffffffffffffffn);
    new DataView(out.buffer).setBigUint64(16, (value >> 64n) & 0xffffffffffffffffn);
    new DataView(out.buffer).setBigUint64(24, value & 0xffffffffffffffffn);
    return out;
  };
  const words = (value: bigint) => Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(32 * (7 - i))) & 0xffffffffn));
  const check = (a: bigint, b: bigint, c: bigint) => {
    const out = new DataView(new ArrayBuffer(32));
    const pads = new Uint8Array(64);
    pads.set(bytes256(a), 0);
    pads.set(bytes256(b), 32);
    writeCorrection(out, 0, new DataView(pads.buffer), 0, 32, words(c), new Array(8).fill(0));
    const expected = (((a - b + c) % CURVE_ORDER) + CURVE_ORDER) % CURVE_ORDER;
    expect(readScalar(out, 0)).toBe(expected);
  };

  it('equals (a - b + c) mod n across the whole range, including the extremes', () => {
    const max = (1n << 256n) - 1n;
    const n = CURVE_ORDER;
    const values = [0n, 1n, n - 1n, n, n + 1n, max, max - 1n, 1n << 255n, (1n << 32n) - 1n, 1n << 32n];
    for (const a of values) for (const b of values) for (const c of [0n, 1n, n - 1n, n >> 1n]) check(a, b, c);
    for (let i = 0; i < 2000; i++) {
      const a = readScalar(new DataView(randomBytes(32).buffer), 0);
      const b = readScalar(new DataView(randomBytes(32).buffer), 0);
      check(a, b, randomScalar());
    }
  });
});

