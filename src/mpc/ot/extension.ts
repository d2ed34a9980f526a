/**
 * OT extension after KOS15 (eprint 2015/546, Fig. 10 of the corrected
 * version, i.e. with the SoftSpokenOT 2022/192 fix): KAPPA base OTs are
 * stretched into `rows` random OTs. The consistency check is a column-wise
 * universal hash (a random binary matrix drawn by Fiat-Shamir from the
 * receiver's own message) plus CHECK_BITS padding rows that mask the
 * receiver's choices. Written here because no maintained JS library offers it.
 *
 * Bit layout: column k (one per base OT) holds bit j of row j at
 * byte j>>3, bit j&7. Row j holds the KAPPA bits of all columns.
 */
import { concatBytes, equalBytes, randomBytes, xorInto } from '../bytes.js';
import { DecodeError } from '../errors.js';
import { taggedXof } from '../hash.js';
import { KeyedBlake3 } from '../prf.js';
import { CHECK_BYTES, CHECK_BITS, KAPPA, KAPPA_BYTES, bitAt, seedAt, type OtReceiverSetup, type OtSenderSetup } from './params.js';

export function extensionMessageBytes(rows: number): number {
  return KAPPA * ((rows + CHECK_BITS) / 8) + CHECK_BYTES + KAPPA * CHECK_BYTES;
}

function assertRows(rows: number): void {
  if (!Number.isInteger(rows) || rows <= 0 || rows % 8 !== 0) throw new RangeError('OT extension rows must be a positive multiple of 8');
}

/** PRG: keyed BLAKE3 of (binding, column) under the base-OT seed. */
function expandColumn(seed: Uint8Array, binding: Uint8Array, column: number, columnBytes: number): Uint8Array {
  const input = new Uint8Array(binding.length + 4);
  input.set(binding);
  new DataView(input.buffer).setUint32(binding.length, column);
  const out = new Uint8Array(Math.ceil(columnBytes / 64) * 64);
  new KeyedBlake3(seed).xofInto(input, out);
  return out.subarray(0, columnBytes);
}

/** The challenge matrix: one CHECK_BITS-wide random row per extended OT, drawn after the receiver fixed its columns. */
function checkMatrix(binding: Uint8Array, rows: number, columns: Uint8Array): Uint32Array {
  const bytes = taggedXof(rows * CHECK_BYTES, 'ot/ext/check', binding, columns);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** Universal hash of one column: XOR of the matrix rows its bits select, plus its padding bits. */
function hashColumn(matrix: Uint32Array, rows: number, column: Uint8Array): Uint8Array {
  const words = CHECK_BYTES / 4;
  const acc = new Uint32Array(words);
  for (let row = 0; row < rows; row++) {
    // Branch-free: mask is all ones when the bit is set.
    const mask = -((column[row >> 3]! >> (row & 7)) & 1);
    const base = row * words;
    for (let w = 0; w < words; w++) acc[w]! ^= matrix[base + w]! & mask;
  }
  const out = new Uint8Array(acc.buffer);
  xorInto(out, column.subarray(rows / 8, rows / 8 + CHECK_BYTES));
  return out;
}

/** Transpose KAPPA columns into the first `rows` rows of KAPPA_BYTES each. */
function transpose(columns: Uint8Array[], rows: number): Uint8Array {
  const out = new Uint8Array(rows * KAPPA_BYTES);
  for (let k = 0; k < KAPPA; k++) {
    const column = columns[k]!;
    const targetByte = k >> 3;
    const targetBit = 1 << (k & 7);
    for (let byte = 0; byte < rows / 8; byte++) {
      let value = column[byte]!;
      if (value === 0) continue;
      for (let bit = 0; bit < 8; bit++, value >>= 1) {
        if (value & 1) out[(byte * 8 + bit) * KAPPA_BYTES + targetByte]! |= targetBit;
      }
    }
  }
  return out;
}

export interface ExtensionReceiverOutput {
  /** Choice bits of the `rows` OTs, packed. */
  choices: Uint8Array;
  /** Row j (KAPPA_BYTES) is the receiver's key material for OT j. */
  rows: Uint8Array;
}

/** Receiver: pick random choices and send the correction columns with their consistency hashes. */
export function extensionReceive(
  setup: OtReceiverSetup,
  binding: Uint8Array,
  rows: number,
): { output: ExtensionReceiverOutput; message: Uint8Array } {
  assertRows(rows);
  const columnBytes = (rows + CHECK_BITS) / 8;
  const choices = randomBytes(columnBytes);
  const tColumns: Uint8Array[] = [];
  const uColumns: Uint8Array[] = [];
  for (let k = 0; k < KAPPA; k++) {
    const t = expandColumn(seedAt(setup.seeds0, k), binding, k, columnBytes);
    const u = expandColumn(seedAt(setup.seeds1, k), binding, k, columnBytes);
    xorInto(u, t);
    xorInto(u, choices);
    tColumns.push(t);
    uColumns.push(u);
  }
  const uBytes = concatBytes(...uColumns);
  const matrix = checkMatrix(binding, rows, uBytes);
  const choiceHash = hashColumn(matrix, rows, choices);
  const columnHashes = tColumns.map((column) => hashColumn(matrix, rows, column));
  return {
    output: { choices: choices.slice(0, rows / 8), rows: transpose(tColumns, rows) },
    message: concatBytes(uBytes, choiceHash, ...columnHashes),
  };
}

/** Sender: check the receiver used one choice vector in every column, then derive its rows. */
export function extensionSend(setup: OtSenderSetup, binding: Uint8Array, rows: number, message: Uint8Array): Uint8Array {
  assertRows(rows);
  if (message.length !== extensionMessageBytes(rows)) throw new DecodeError('bad-encoding', 'OT extension message has the wrong length');
  const columnBytes = (rows + CHECK_BITS) / 8;
  const uBytes = message.subarray(0, KAPPA * columnBytes);
  const choiceHash = message.subarray(KAPPA * columnBytes, KAPPA * columnBytes + CHECK_BYTES);
  const hashesStart = KAPPA * columnBytes + CHECK_BYTES;
  const matrix = checkMatrix(binding, rows, uBytes);

  const qColumns: Uint8Array[] = [];
  let consistent = true;
  for (let k = 0; k < KAPPA; k++) {
    const q = expandColumn(seedAt(setup.seeds, k), binding, k, columnBytes);
    const chosen = bitAt(setup.delta, k);
    const mask = -chosen & 0xff;
    const u = uBytes.subarray(k * columnBytes, (k + 1) * columnBytes);
    for (let i = 0; i < columnBytes; i++) q[i]! ^= u[i]! & mask;
    const expected = message.slice(hashesStart + k * CHECK_BYTES, hashesStart + (k + 1) * CHECK_BYTES);
    for (let i = 0; i < CHECK_BYTES; i++) expected[i]! ^= choiceHash[i]! & mask;
    consistent = equalBytes(hashColumn(matrix, rows, q), expected) && consistent;
    qColumns.push(q);
  }
  if (!consistent) throw new DecodeError('ot-check-failed', 'OT extension consistency check failed: the receiver used inconsistent choices');
  return transpose(qColumns, rows);
}

/** Row j of the sender XOR its correlation: the key the receiver holds when its choice is 1. */
export function flipRow(row: Uint8Array, delta: Uint8Array): Uint8Array {
  const out = row.slice();
  xorInto(out, delta);
  return out;
}
