import { describe, expect, it } from 'vitest';
import { randomBytes } from './bytes.js';
import { Fn, randomScalar } from './curve.js';
import { baseOtReceive, baseOtSenderFinish, baseOtSenderStart } from './ot/base.js';
import { mulAlice, mulBobFinish, mulBobStart, MUL_ROWS } from './multiply.js';

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

  it('detects a tampered check value', () => {
    expect(() => run([randomScalar(), randomScalar()], (m) => { m[MUL_ROWS * 3 * 32 + 32 + 5]! ^= 1; })).toThrow(/multiplication check failed/);
  });
});
