import { describe, expect, it } from 'vitest';
import { randomBytes, equalBytes } from '../bytes.js';
import { baseOtReceive, baseOtSenderFinish, baseOtSenderStart } from './base.js';
import { extensionReceive, extensionSend, flipRow } from './extension.js';
import { bitAt, KAPPA, KAPPA_BYTES, seedAt, type OtReceiverSetup, type OtSenderSetup } from './params.js';
import { DecodeError } from '../errors.js';

function runBaseOt(): { sender: OtReceiverSetup; receiver: OtSenderSetup } {
  const context = randomBytes(32);
  const start = baseOtSenderStart(context);
  const received = baseOtReceive(context, start.message);
  const sender = baseOtSenderFinish(context, start.state, received.message);
  return { sender, receiver: { delta: received.delta, seeds: received.seeds } };
}

const setup = runBaseOt();

describe('base OT', () => {
  it('gives the receiver exactly the key of its choice in every OT', () => {
    for (let k = 0; k < KAPPA; k++) {
      const chosen = bitAt(setup.receiver.delta, k) ? setup.sender.seeds1 : setup.sender.seeds0;
      const other = bitAt(setup.receiver.delta, k) ? setup.sender.seeds0 : setup.sender.seeds1;
      expect(equalBytes(seedAt(setup.receiver.seeds, k), seedAt(chosen, k))).toBe(true);
      expect(equalBytes(seedAt(setup.receiver.seeds, k), seedAt(other, k))).toBe(false);
    }
  });

  it('rejects a sender whose proof is for another context', () => {
    const start = baseOtSenderStart(randomBytes(32));
    expect(() => baseOtReceive(randomBytes(32), start.message)).toThrow(DecodeError);
  });

  it('rejects a receiver message with an off-curve point', () => {
    const context = randomBytes(32);
    const start = baseOtSenderStart(context);
    const received = baseOtReceive(context, start.message);
    const bad = received.message.slice();
    bad.set(new Uint8Array(33).fill(0xff), 33 * 5);
    expect(() => baseOtSenderFinish(context, start.state, bad)).toThrow(/point/);
  });
});

describe('OT extension', () => {
  const rows = 256;
  it('produces random OTs: receiver row = sender row XOR choice * delta', () => {
    const binding = randomBytes(32);
    const { output, message } = extensionReceive(setup.sender, binding, rows);
    const qRows = extensionSend(setup.receiver, binding, rows, message);
    for (let j = 0; j < rows; j++) {
      const q = qRows.subarray(j * KAPPA_BYTES, (j + 1) * KAPPA_BYTES);
      const t = output.rows.subarray(j * KAPPA_BYTES, (j + 1) * KAPPA_BYTES);
      const expected = bitAt(output.choices, j) ? flipRow(q, setup.receiver.delta) : q;
      expect(equalBytes(t, expected)).toBe(true);
    }
  });

  it('catches a receiver that uses a different choice vector in one column', () => {
    const binding = randomBytes(32);
    const { message } = extensionReceive(setup.sender, binding, rows);
    const tampered = message.slice();
    const columnBytes = (rows + 256) / 8;
    // Flip choice bit 3 in the column of a base OT where the sender's delta bit is 1, so it is visible.
    let column = 0;
    while (!bitAt(setup.receiver.delta, column)) column++;
    tampered[column * columnBytes]! ^= 0b1000;
    expect(() => extensionSend(setup.receiver, binding, rows, tampered)).toThrow(/consistency/);
  });

  it('rejects a message bound to another run', () => {
    const { message } = extensionReceive(setup.sender, randomBytes(32), rows);
    expect(() => extensionSend(setup.receiver, randomBytes(32), rows, message)).toThrow(/consistency/);
  });

  it('rejects a message of the wrong length', () => {
    const binding = randomBytes(32);
    const { message } = extensionReceive(setup.sender, binding, rows);
    expect(() => extensionSend(setup.receiver, binding, rows, message.subarray(1))).toThrow(/length/);
  });
});
