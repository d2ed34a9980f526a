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
import { CURVE_ORDER, Fn, randomScalar, readScalar, writeScalar } from './curve.js';
import { PayloadReader, PayloadWriter } from './codec.js';
import { DecodeError } from './errors.js';
import { hashToScalar, taggedHash } from './hash.js';
import { extensionMessageBytes, extensionReceive, extensionSend } from './ot/extension.js';
import { bitAt, KAPPA_BYTES, type OtReceiverSetup, type OtSenderSetup } from './ot/params.js';
import { ACCUMULATOR_BYTES, moduleArea, type PointEngine } from './wasm/engine.js';

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

/** Bytes of keyed-BLAKE3 output per OT row: WIDTH pads, rounded up to whole output blocks. */
const ROW_PAD_BYTES = PAD_OUTPUT_BYTES;

/**
 * The module memory the multiplication uses (src/mpc/wasm): the gadget and the check coefficients
 * as big-endian scalars; the OT rows, a row flip and the row key, from which the module computes
 * every row's pads (keyed BLAKE3 of (row index, row), the correlation-robust hash) in one call:
 * pads for choice 0, and for Alice those of the flipped rows; the current row's values;
 * accumulators.
 */
interface ScalarArea {
  engine: PointEngine;
  view: DataView;
  gadget: number;
  chi: number;
  rows: number;
  flip: number;
  /** Never written: the flip of unflipped rows. */
  noFlip: number;
  key: number;
  pads0: number;
  pads1: number;
  values: number;
  valuesView: DataView;
  choiceTerm: number;
  one: number;
  shareAccumulators: number;
  rowAccumulator: number;
  out: number;
}
const scalarSums = moduleArea((engine): ScalarArea => {
  const view = new DataView(engine.bytes.buffer);
  const gadgetAt = engine.allocate(MUL_ROWS * 32);
  gadget().forEach((value, j) => writeScalar(view, gadgetAt + 32 * j, value));
  const values = engine.allocate(WIDTH * 32);
  const one = engine.allocate(32);
  writeScalar(view, one, 1n);
  return {
    engine,
    view,
    gadget: gadgetAt,
    chi: engine.allocate(WIDTH * 32),
    rows: engine.allocate(MUL_ROWS * KAPPA_BYTES),
    flip: engine.allocate(KAPPA_BYTES),
    noFlip: engine.allocate(KAPPA_BYTES),
    key: engine.allocate(32),
    pads0: engine.allocate(MUL_ROWS * ROW_PAD_BYTES),
    pads1: engine.allocate(MUL_ROWS * ROW_PAD_BYTES),
    values,
    valuesView: new DataView(engine.bytes.buffer, values, WIDTH * 32),
    choiceTerm: engine.allocate(32),
    one,
    shareAccumulators: engine.allocate(MUL_INPUTS * ACCUMULATOR_BYTES),
    rowAccumulator: engine.allocate(ACCUMULATOR_BYTES),
    out: engine.allocate(32),
  };
});

/** Every row's pads under `rowKey`, of the rows XOR `flip` when given, into `pads`. */
function computeRowPads(area: ScalarArea, rowKey: Uint8Array, rows: Uint8Array, pads: number, flip?: Uint8Array): void {
  const { engine } = area;
  engine.bytes.set(rowKey, area.key);
  engine.bytes.set(rows, area.rows);
  if (flip) engine.bytes.set(flip, area.flip);
  engine.row_pads(area.key, area.rows, flip ? area.flip : area.noFlip, MUL_ROWS, pads);
}

/** Zeroes the accumulators before a run: every run also clears all its areas when it ends (clearScalarArea, in a finally). */
function clearAccumulators(area: ScalarArea): void {
  area.engine.wipe(area.shareAccumulators, MUL_INPUTS * ACCUMULATOR_BYTES);
  area.engine.wipe(area.rowAccumulator, ACCUMULATOR_BYTES);
}

/** Zeroes everything secret the multiplication put in the module: rows, key, pads, values, sums. */
function clearScalarArea(area: ScalarArea): void {
  const { engine } = area;
  engine.wipe(area.rows, MUL_ROWS * KAPPA_BYTES);
  engine.wipe(area.flip, KAPPA_BYTES);
  engine.wipe(area.key, 32);
  engine.wipe(area.pads0, MUL_ROWS * ROW_PAD_BYTES);
  engine.wipe(area.pads1, MUL_ROWS * ROW_PAD_BYTES);
  engine.wipe(area.shareAccumulators, MUL_INPUTS * ACCUMULATOR_BYTES);
  engine.wipe(area.rowAccumulator, ACCUMULATOR_BYTES);
  engine.wipe(area.values, WIDTH * 32);
  engine.wipe(area.choiceTerm, 32);
  engine.wipe(area.out, 32);
}

/** An accumulator reduced mod n as a BigInt (it is zeroed). */
function takeSum(area: ScalarArea, accumulator: number): bigint {
  area.engine.sc_reduce(area.out, accumulator, 0);
  return readScalar(area.view, area.out);
}

const ORDER_WORDS = wordsOf(CURVE_ORDER);
const TWO_32 = 4294967296;

/** The eight big-endian 32-bit words of a 256-bit integer. */
function wordsOf(value: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(32 * (7 - i))) & 0xffffffffn));
}

/**
 * Writes (a - b + c) mod n as 32 big-endian bytes, for 256-bit a and b (pads, at aAt and bAt in
 * `pads`) and c < n (eight words): Alice's correction, in 32-bit words rather than BigInts (three
 * conversions and a write per value saved). The result lies in (-2^256, 2^256 + n) before the
 * final additions or subtractions of n, as in the BigInt form.
 */
/** @internal Exported for its tests. */
export function writeCorrection(out: DataView, at: number, pads: DataView, aAt: number, bAt: number, c: readonly number[], limbs: number[]): void {
  let carry = 0;
  for (let i = 7; i >= 0; i--) {
    const t = pads.getUint32(aAt + 4 * i) - pads.getUint32(bAt + 4 * i) + c[i]! + carry;
    const limb = t >>> 0;
    carry = (t - limb) / TWO_32;
    limbs[i] = limb;
  }
  let top = carry;
  while (top < 0) {
    carry = 0;
    for (let i = 7; i >= 0; i--) {
      const t = limbs[i]! + ORDER_WORDS[i]! + carry;
      const limb = t >>> 0;
      carry = (t - limb) / TWO_32;
      limbs[i] = limb;
    }
    top += carry;
  }
  while (top > 0 || !belowOrder(limbs)) {
    carry = 0;
    for (let i = 7; i >= 0; i--) {
      const t = limbs[i]! - ORDER_WORDS[i]! + carry;
      const limb = t >>> 0;
      carry = (t - limb) / TWO_32;
      limbs[i] = limb;
    }
    top += carry;
  }
  for (let i = 0; i < 8; i++) out.setUint32(at + 4 * i, limbs[i]!);
}

function belowOrder(limbs: readonly number[]): boolean {
  for (let i = 0; i < 8; i++) {
    if (limbs[i]! !== ORDER_WORDS[i]!) return limbs[i]! < ORDER_WORDS[i]!;
  }
  return false;
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
  const area = scalarSums();
  const { engine } = area;
  clearAccumulators(area);
  const corrections = new Uint8Array(CORRECTIONS_BYTES);
  const checkValues = new Uint8Array(MUL_ROWS * 32);
  let checkCombination = 0n;
  const shares: bigint[] = [];
  const adjustments: bigint[] = [];
  let seed: Uint8Array;
  try {
    // Alice's own share of row j is minus her pad for choice 0; her pads for the flipped rows only enter the corrections.
    computeRowPads(area, rowKey, qRows, area.pads0);
    computeRowPads(area, rowKey, qRows, area.pads1, setup.delta);
    const correctionsView = new DataView(corrections.buffer);
    const correlationWords = correlation.map(wordsOf);
    const limbs: number[] = new Array<number>(8).fill(0);
    for (let j = 0; j < MUL_ROWS; j++) {
      const pad0 = area.pads0 + j * ROW_PAD_BYTES;
      const pad1 = area.pads1 + j * ROW_PAD_BYTES;
      for (let i = 0; i < MUL_INPUTS; i++) engine.sc_mac(area.shareAccumulators + i * ACCUMULATOR_BYTES, area.gadget + 32 * j, pad0 + i * PAD_BYTES);
      // The correction of column k: pad0 - pad1 + correlation_k mod n.
      for (let k = 0; k < WIDTH; k++) writeCorrection(correctionsView, (j * WIDTH + k) * 32, area.view, pad0 + k * PAD_BYTES, pad1 + k * PAD_BYTES, correlationWords[k]!, limbs);
    }
    // The check values need the check coefficients, drawn only after the corrections.
    seed = correctionsDigest(rowKey, corrections);
    const chi = checkCoefficients(seed);
    chi.forEach((value, k) => writeScalar(area.view, area.chi + 32 * k, value));
    for (let j = 0; j < MUL_ROWS; j++) {
      for (let k = 0; k < WIDTH; k++) engine.sc_mac(area.rowAccumulator, area.chi + 32 * k, area.pads0 + j * ROW_PAD_BYTES + k * PAD_BYTES);
      engine.sc_reduce(area.out, area.rowAccumulator, 1);
      checkValues.set(engine.bytes.subarray(area.out, area.out + 32), j * 32);
    }
    for (let k = 0; k < WIDTH; k++) checkCombination += chi[k]! * correlation[k]!;
    for (let i = 0; i < MUL_INPUTS; i++) {
      shares.push(Fn.neg(takeSum(area, area.shareAccumulators + i * ACCUMULATOR_BYTES)));
      adjustments.push(Fn.sub(inputs[i]!, correlation[i]!));
    }
  } finally {
    // Rows and pads are secret: none stays in the module's memory, whatever happened.
    clearScalarArea(area);
  }
  const message = new PayloadWriter()
    .bytes(corrections)
    .bytes(checkDigest(rowKey, checkValues))
    .scalar(Fn.create(checkCombination))
    .scalars(adjustments)
    .finish();
  return { shares, message, transcript: messageTranscript(seed, message) };
}

/** Bob, finish: check Alice's correlations were consistent and return his additive shares. */
export function mulBobFinish(state: MulBobState, rowKey: Uint8Array, aliceMessage: Uint8Array): { shares: bigint[]; transcript: Uint8Array } {
  if (aliceMessage.length !== MUL_ALICE_MESSAGE_BYTES) throw new DecodeError('bad-encoding', 'multiplication message has the wrong length');
  const corrections = aliceMessage.subarray(0, CORRECTIONS_BYTES);
  const correctionsView = new DataView(corrections.buffer, corrections.byteOffset, corrections.byteLength);
  // Checklist item 2, as PayloadReader.scalars would: every correction in (0, n). Read as words, not BigInts.
  const limbs: number[] = new Array<number>(8).fill(0);
  for (let at = 0; at < CORRECTIONS_BYTES; at += 32) {
    let nonZero = 0;
    for (let i = 0; i < 8; i++) nonZero |= limbs[i] = correctionsView.getUint32(at + 4 * i);
    if (nonZero === 0 || !belowOrder(limbs)) throw new DecodeError('invalid-scalar', 'scalar is zero or not below the group order');
  }
  const reader = new PayloadReader(aliceMessage.subarray(CORRECTIONS_BYTES));
  const digest = reader.bytes(32);
  const checkCombination = reader.scalar();
  const adjustments = reader.scalars(MUL_INPUTS);
  reader.end();

  const seed = correctionsDigest(rowKey, corrections);
  const chi = checkCoefficients(seed);
  const area = scalarSums();
  const { engine } = area;
  clearAccumulators(area);
  const checkValues = new Uint8Array(MUL_ROWS * 32);
  let shareSums: bigint[];
  try {
    chi.forEach((value, k) => writeScalar(area.view, area.chi + 32 * k, value));
    computeRowPads(area, rowKey, state.rows, area.pads0);
    // n - checkCombination, as words: a row's check value is -(sum_k chi_k value_k + choice (n - checkCombination)).
    const negatedCombinationWords = wordsOf(Fn.neg(checkCombination));
    for (let j = 0; j < MUL_ROWS; j++) {
      // Bob's own share of row j is his pad plus, when his choice is 1, Alice's correction: computed
      // in 32-bit words with masks rather than a branch on the secret choice bit.
      const choiceMask = 0 - bitAt(state.choices, j); // not -bit: -0 is a different kind of value in V8
      const pad = area.pads0 + j * ROW_PAD_BYTES;
      for (let k = 0; k < WIDTH; k++) {
        padPlusMasked(area.view, pad + k * PAD_BYTES, correctionsView, (j * WIDTH + k) * 32, choiceMask, area.valuesView, k * 32);
        engine.sc_mac(area.rowAccumulator, area.chi + 32 * k, area.values + 32 * k);
        if (k < MUL_INPUTS) engine.sc_mac(area.shareAccumulators + k * ACCUMULATOR_BYTES, area.gadget + 32 * j, area.values + 32 * k);
      }
      for (let i = 0; i < 8; i++) area.view.setUint32(area.choiceTerm + 4 * i, negatedCombinationWords[i]! & choiceMask);
      engine.sc_mac(area.rowAccumulator, area.choiceTerm, area.one);
      engine.sc_reduce(area.out, area.rowAccumulator, 1);
      checkValues.set(engine.bytes.subarray(area.out, area.out + 32), j * 32);
    }
    shareSums = Array.from({ length: MUL_INPUTS }, (_, i) => takeSum(area, area.shareAccumulators + i * ACCUMULATOR_BYTES));
  } finally {
    // Rows, pads, values and sums are secret: none stays in the module's memory, whatever happened.
    clearScalarArea(area);
  }
  if (!equalBytes(checkDigest(rowKey, checkValues), digest)) {
    throw new DecodeError('multiplication-check-failed', 'multiplication check failed: the sender used inconsistent correlations');
  }
  const shares: bigint[] = [];
  for (let i = 0; i < MUL_INPUTS; i++) shares.push(Fn.create(shareSums[i]! + state.input * adjustments[i]!));
  return { shares, transcript: messageTranscript(seed, aliceMessage) };
}

/**
 * pad + (correction AND mask), a representative mod n below 2^256, as 32 big-endian bytes at `at`
 * of `out`: n is subtracted when the sum carries out, through a mask as well, so neither the choice
 * bit (mask) nor the carry picks a branch.
 */
function padPlusMasked(pads: DataView, padAt: number, corrections: DataView, correctionAt: number, mask: number, out: DataView, at: number): void {
  let carry = 0;
  for (let i = 7; i >= 0; i--) {
    const t = pads.getUint32(padAt + 4 * i) + ((corrections.getUint32(correctionAt + 4 * i) & mask) >>> 0) + carry;
    const limb = t >>> 0;
    carry = (t - limb) / TWO_32;
    out.setUint32(at + 4 * i, limb);
  }
  const carryMask = 0 - carry;
  let borrow = 0;
  for (let i = 7; i >= 0; i--) {
    const t = out.getUint32(at + 4 * i) - ((ORDER_WORDS[i]! & carryMask) >>> 0) + borrow;
    const limb = t >>> 0;
    borrow = (t - limb) / TWO_32;
    out.setUint32(at + 4 * i, limb);
  }
}
