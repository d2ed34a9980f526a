/**
 * Two-party random vector OLE (DKLs23 Functionality 3.5) by DKLs19 Protocol 1
 * in the two-message form of DKLs23 §5.1: Bob (the OT-extension receiver)
 * gets a random scalar b encoded by his choice bits through a public gadget
 * vector; Alice inputs a vector a; they end with additive shares
 * c_i + d_i = a_i * b. Alice's correlations are checked with one random
 * linear combination whose coefficients are hashed from her correction
 * message, so they are fixed only after she committed to her correlations.
 */
import { equalBytes } from './bytes.js';
import { CURVE_ORDER, Fn, randomScalar, readScalar } from './curve.js';
import { PayloadReader, PayloadWriter } from './codec.js';
import { DecodeError } from './errors.js';
import { hashToScalar, taggedHash } from './hash.js';
import { KeyedBlake3 } from './prf.js';
import { extensionMessageBytes, extensionReceive, extensionSend } from './ot/extension.js';
import { bitAt, KAPPA_BYTES, type OtReceiverSetup, type OtSenderSetup } from './ot/params.js';

/** Alice's inputs per multiplication: the nonce share and the key share (DKLs23 L = 2). */
export const MUL_INPUTS = 2;
/** Encoding length of Bob's input: 256 + 2 * 80 statistical bits (DKLs19). */
export const MUL_ROWS = 416;
/** Per OT row Alice correlates MUL_INPUTS pads plus one check value. */
const WIDTH = MUL_INPUTS + 1;
/**
 * Pads are 256-bit integers used as representatives mod n. As 2^256 - n < 2^129, such a pad is
 * within 2^-127 of uniform mod n (the reduction DKLs23 implementations use for hashed scalars);
 * over all 1,248 pads of a run that stays below 2^-116, far under the protocol's own 2^-80
 * statistical bound. Wider pads would cost a third more hashing and several times more BigInt work.
 */
const PAD_BYTES = 32;
const PAD_OUTPUT_BYTES = Math.ceil((WIDTH * PAD_BYTES) / 64) * 64;

let gadgetCache: bigint[] | undefined;
/** Public gadget vector, a fixed system constant drawn from a nothing-up-my-sleeve hash. */
function gadget(): bigint[] {
  gadgetCache ??= Array.from({ length: MUL_ROWS }, (_, j) => hashToScalar('mul/gadget', 'tandem-dkls23-v1', j));
  return gadgetCache;
}

export const MUL_BOB_MESSAGE_BYTES = extensionMessageBytes(MUL_ROWS);
/** Alice's message opens with her MUL_ROWS * WIDTH corrections. */
const CORRECTIONS_BYTES = MUL_ROWS * WIDTH * 32;
export const MUL_ALICE_MESSAGE_BYTES = CORRECTIONS_BYTES + 32 + 32 + MUL_INPUTS * 32;

/**
 * WIDTH pads per OT row from keyed BLAKE3 of (row index, row): the correlation-robust hash.
 * Each pad is left unreduced: callers reduce sums of them once, with far fewer BigInt divisions.
 */
class RowPads {
  private readonly prf: KeyedBlake3;
  private readonly input = new Uint8Array(4 + KAPPA_BYTES);
  private readonly inputView = new DataView(this.input.buffer);
  private readonly output = new Uint8Array(PAD_OUTPUT_BYTES);
  private readonly outputView = new DataView(this.output.buffer);
  readonly pads: bigint[] = new Array<bigint>(WIDTH).fill(0n);

  constructor(rowKey: Uint8Array) {
    this.prf = new KeyedBlake3(rowKey);
  }

  /** Pads of `row`, or of `row` XOR `flip` when given (the sender's other message), into this.pads. */
  compute(index: number, row: Uint8Array, flip?: Uint8Array): bigint[] {
    this.inputView.setUint32(0, index);
    this.input.set(row, 4);
    if (flip) for (let i = 0; i < KAPPA_BYTES; i++) this.input[4 + i]! ^= flip[i]!;
    this.prf.xofInto(this.input, this.output);
    for (let k = 0; k < WIDTH; k++) this.pads[k] = readScalar(this.outputView, k * PAD_BYTES);
    return this.pads;
  }
}

/** x mod n for x in (-2^257, 2^257): two pads' difference plus a scalar. A BigInt division costs ten times more. */
function reduceNarrow(x: bigint): bigint {
  while (x < 0n) x += CURVE_ORDER;
  while (x >= CURVE_ORDER) x -= CURVE_ORDER;
  return x;
}

/** Digest of Alice's corrections under the row key: the seed of the check coefficients. */
function correctionsDigest(rowKey: Uint8Array, corrections: Uint8Array): Uint8Array {
  return taggedHash('mul/chi-seed', rowKey, corrections);
}

function checkCoefficients(seed: Uint8Array): bigint[] {
  return Array.from({ length: WIDTH }, (_, k) => hashToScalar('mul/chi', seed, k));
}

/**
 * Binds Alice's whole message (through the corrections digest, which both sides compute
 * anyway, and the short rest) so a caller can draw Fiat-Shamir challenges after it.
 */
function messageTranscript(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return taggedHash('mul/transcript', seed, message.subarray(CORRECTIONS_BYTES));
}

function checkDigest(rowKey: Uint8Array, values: Uint8Array): Uint8Array {
  return taggedHash('mul/check', rowKey, values);
}

export interface MulBobState {
  choices: Uint8Array;
  rows: Uint8Array;
  /** Bob's random input b = <gadget, choices>. */
  input: bigint;
}

/**
 * Bob, message 1. `otBinding` must be unique per run for this pair; the row
 * key (bound to the full session id) is only needed when Alice answers.
 */
export function mulBobStart(setup: OtReceiverSetup, otBinding: Uint8Array): { state: MulBobState; message: Uint8Array } {
  const { output, message } = extensionReceive(setup, otBinding, MUL_ROWS);
  const g = gadget();
  let input = 0n;
  for (let j = 0; j < MUL_ROWS; j++) input += g[j]! * BigInt(bitAt(output.choices, j));
  return { state: { choices: output.choices, rows: output.rows, input: Fn.create(input) }, message };
}

/**
 * Alice, message 2: runs the extension as sender against Bob's message,
 * turns the random OTs into correlated ones and returns her additive shares.
 * `rowKey` must bind the full session id that Alice contributed to.
 */
export function mulAlice(
  setup: OtSenderSetup,
  otBinding: Uint8Array,
  rowKey: Uint8Array,
  inputs: readonly bigint[],
  bobMessage: Uint8Array,
): { shares: bigint[]; message: Uint8Array; transcript: Uint8Array } {
  if (inputs.length !== MUL_INPUTS) throw new RangeError(`multiplication takes ${MUL_INPUTS} inputs`);
  const qRows = extensionSend(setup, otBinding, MUL_ROWS, bobMessage);
  const correlation = Array.from({ length: WIDTH }, () => randomScalar());
  const hasher = new RowPads(rowKey);
  // Alice's own share of row j is minus her pad for choice 0; raw0 keeps those pads for the check values.
  const raw0: bigint[] = new Array<bigint>(MUL_ROWS * WIDTH);
  const writer = new PayloadWriter();
  const g = gadget();
  const shareSums: bigint[] = new Array<bigint>(MUL_INPUTS).fill(0n);
  for (let j = 0; j < MUL_ROWS; j++) {
    const row = qRows.subarray(j * KAPPA_BYTES, (j + 1) * KAPPA_BYTES);
    const pads0 = hasher.compute(j, row);
    for (let k = 0; k < WIDTH; k++) raw0[j * WIDTH + k] = pads0[k]!;
    const pads1 = hasher.compute(j, row, setup.delta);
    for (let k = 0; k < WIDTH; k++) writer.scalar(reduceNarrow(raw0[j * WIDTH + k]! - pads1[k]! + correlation[k]!));
    for (let i = 0; i < MUL_INPUTS; i++) shareSums[i]! += g[j]! * raw0[j * WIDTH + i]!;
  }
  const corrections = writer.finish();
  const seed = correctionsDigest(rowKey, corrections);
  const chi = checkCoefficients(seed);
  const checkValues = new PayloadWriter();
  for (let j = 0; j < MUL_ROWS; j++) {
    let value = 0n;
    for (let k = 0; k < WIDTH; k++) value += chi[k]! * raw0[j * WIDTH + k]!;
    checkValues.scalar(Fn.create(-value));
  }
  let checkCombination = 0n;
  for (let k = 0; k < WIDTH; k++) checkCombination += chi[k]! * correlation[k]!;

  const shares: bigint[] = [];
  const adjustments: bigint[] = [];
  for (let i = 0; i < MUL_INPUTS; i++) {
    shares.push(Fn.create(-shareSums[i]!));
    adjustments.push(Fn.sub(inputs[i]!, correlation[i]!));
  }
  const message = new PayloadWriter()
    .bytes(corrections)
    .bytes(checkDigest(rowKey, checkValues.finish()))
    .scalar(Fn.create(checkCombination))
    .scalars(adjustments)
    .finish();
  return { shares, message, transcript: messageTranscript(seed, message) };
}

/** Bob, finish: check Alice's correlations were consistent and return his additive shares. */
export function mulBobFinish(state: MulBobState, rowKey: Uint8Array, aliceMessage: Uint8Array): { shares: bigint[]; transcript: Uint8Array } {
  if (aliceMessage.length !== MUL_ALICE_MESSAGE_BYTES) throw new DecodeError('bad-encoding', 'multiplication message has the wrong length');
  const corrections = aliceMessage.subarray(0, CORRECTIONS_BYTES);
  const reader = new PayloadReader(aliceMessage);
  const correctionScalars = reader.scalars(MUL_ROWS * WIDTH);
  const digest = reader.bytes(32);
  const checkCombination = reader.scalar();
  const adjustments = reader.scalars(MUL_INPUTS);
  reader.end();

  const seed = correctionsDigest(rowKey, corrections);
  const chi = checkCoefficients(seed);
  const checkValues = new PayloadWriter();
  const hasher = new RowPads(rowKey);
  const g = gadget();
  const shareSums: bigint[] = new Array<bigint>(MUL_INPUTS).fill(0n);
  for (let j = 0; j < MUL_ROWS; j++) {
    // Bob's own share of row j is his pad plus, when his choice is 1, Alice's correction.
    // Arithmetic rather than a branch on the secret choice bit.
    const choice = BigInt(bitAt(state.choices, j));
    const pads = hasher.compute(j, state.rows.subarray(j * KAPPA_BYTES, (j + 1) * KAPPA_BYTES));
    let combined = 0n;
    for (let k = 0; k < WIDTH; k++) {
      const value = pads[k]! + choice * correctionScalars[j * WIDTH + k]!;
      combined += chi[k]! * value;
      if (k < MUL_INPUTS) shareSums[k]! += g[j]! * value;
    }
    checkValues.scalar(Fn.create(choice * checkCombination - combined));
  }
  if (!equalBytes(checkDigest(rowKey, checkValues.finish()), digest)) {
    throw new DecodeError('multiplication-check-failed', 'multiplication check failed: the sender used inconsistent correlations');
  }
  const shares: bigint[] = [];
  for (let i = 0; i < MUL_INPUTS; i++) shares.push(Fn.create(shareSums[i]! + state.input * adjustments[i]!));
  return { shares, transcript: messageTranscript(seed, aliceMessage) };
}
