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
import { taggedHash } from '../hash.js';
import { KeyedBlake3 } from '../prf.js';
import { pointEngine, type PointEngine } from '../wasm/engine.js';
import { CHECK_BYTES, CHECK_BITS, KAPPA, KAPPA_BYTES, bitAt, seedAt, type OtReceiverSetup, type OtSenderSetup } from './params.js';

export function extensionMessageBytes(rows: number): number {
  return KAPPA * ((rows + CHECK_BITS) / 8) + CHECK_BYTES + KAPPA * CHECK_BYTES;
}

function assertRows(rows: number): void {
  if (!Number.isInteger(rows) || rows <= 0 || rows % 8 !== 0) throw new RangeError('OT extension rows must be a positive multiple of 8');
}

/** PRG: keyed BLAKE3 of (binding, column) under each base-OT seed, with one hasher and input buffer for all columns. */
class ColumnExpander {
  private readonly prf: KeyedBlake3;
  private readonly input: Uint8Array;
  private readonly inputView: DataView;
  private readonly outputBytes: number;

  constructor(
    binding: Uint8Array,
    private readonly columnBytes: number,
  ) {
    this.input = new Uint8Array(binding.length + 4);
    this.input.set(binding);
    this.inputView = new DataView(this.input.buffer);
    this.outputBytes = Math.ceil(columnBytes / 64) * 64;
    this.prf = new KeyedBlake3(new Uint8Array(32));
  }

  expand(seed: Uint8Array, column: number): Uint8Array {
    this.inputView.setUint32(this.input.length - 4, column);
    const out = new Uint8Array(this.outputBytes);
    this.prf.rekey(seed).xofInto(this.input, out);
    return out.subarray(0, this.columnBytes);
  }
}

/**
 * Module memory for the column hashes of one row count: the challenge matrix (one CHECK_BITS-wide
 * row per extended OT), up to KAPPA + 1 columns, and their hashes.
 */
interface HashArea {
  engine: PointEngine;
  matrix: Uint8Array;
  columns: number;
  out: number;
}
const hashAreas = new Map<number, HashArea>();

function hashArea(rows: number): HashArea {
  let area = hashAreas.get(rows);
  if (!area) {
    const engine = pointEngine();
    const matrix = engine.allocate(rows * CHECK_BYTES);
    const columnBytes = (rows + CHECK_BITS) / 8;
    area = { engine, matrix: engine.bytes.subarray(matrix, matrix + rows * CHECK_BYTES), columns: engine.allocate((KAPPA + 1) * columnBytes), out: engine.allocate((KAPPA + 1) * CHECK_BYTES) };
    hashAreas.set(rows, area);
  }
  return area;
}

/**
 * Universal hashes of columns: for each, the XOR of the challenge-matrix rows its bits select, plus
 * its padding bits. The matrix is drawn by Fiat-Shamir from `uBytes`, after the receiver fixed them.
 */
function hashColumns(binding: Uint8Array, rows: number, uBytes: Uint8Array, columns: readonly Uint8Array[]): Uint8Array[] {
  if (columns.length > KAPPA + 1) throw new RangeError('too many columns for the hash area');
  const area = hashArea(rows);
  const { engine } = area;
  new KeyedBlake3(taggedHash('ot/ext/check', binding, uBytes)).xofInto(new Uint8Array(0), area.matrix);
  const columnBytes = (rows + CHECK_BITS) / 8;
  try {
    columns.forEach((column, c) => engine.bytes.set(column, area.columns + c * columnBytes));
    engine.hash_columns(area.matrix.byteOffset, rows, area.columns, columnBytes, columns.length, area.out);
    return columns.map((_, c) => engine.bytes.slice(area.out + c * CHECK_BYTES, area.out + (c + 1) * CHECK_BYTES));
  } finally {
    // The columns are secret OT material.
    engine.bytes.fill(0, area.columns, area.columns + columns.length * columnBytes);
    engine.bytes.fill(0, area.out, area.out + columns.length * CHECK_BYTES);
  }
}

/**
 * Transpose KAPPA columns into the first `rows` rows of KAPPA_BYTES each, one 8x8 bit
 * block at a time (the shift-and-mask transpose of Hacker's Delight, §7-3).
 */
function transpose(columns: Uint8Array[], rows: number): Uint8Array {
  const out = new Uint8Array(rows * KAPPA_BYTES);
  for (let group = 0; group < KAPPA_BYTES; group++) {
    const c = columns.slice(group * 8, group * 8 + 8) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    for (let byte = 0; byte < rows / 8; byte++) {
      // Bit i of column k lands in bit k of row i: load the columns highest first so the
      // most-significant-first transpose below works on least-significant-first bits.
      let x = (c[7][byte]! << 24) | (c[6][byte]! << 16) | (c[5][byte]! << 8) | c[4][byte]!;
      let y = (c[3][byte]! << 24) | (c[2][byte]! << 16) | (c[1][byte]! << 8) | c[0][byte]!;
      let t = (x ^ (x >>> 7)) & 0x00aa00aa;
      x = x ^ t ^ (t << 7);
      t = (y ^ (y >>> 7)) & 0x00aa00aa;
      y = y ^ t ^ (t << 7);
      t = (x ^ (x >>> 14)) & 0x0000cccc;
      x = x ^ t ^ (t << 14);
      t = (y ^ (y >>> 14)) & 0x0000cccc;
      y = y ^ t ^ (t << 14);
      t = (x & 0xf0f0f0f0) | ((y >>> 4) & 0x0f0f0f0f);
      y = ((x << 4) & 0xf0f0f0f0) | (y & 0x0f0f0f0f);
      x = t;
      const at = byte * 8 * KAPPA_BYTES + group;
      out[at + 7 * KAPPA_BYTES] = x >>> 24;
      out[at + 6 * KAPPA_BYTES] = x >>> 16;
      out[at + 5 * KAPPA_BYTES] = x >>> 8;
      out[at + 4 * KAPPA_BYTES] = x;
      out[at + 3 * KAPPA_BYTES] = y >>> 24;
      out[at + 2 * KAPPA_BYTES] = y >>> 16;
      out[at + KAPPA_BYTES] = y >>> 8;
      out[at] = y;
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
  const expander = new ColumnExpander(binding, columnBytes);
  for (let k = 0; k < KAPPA; k++) {
    const t = expander.expand(seedAt(setup.seeds0, k), k);
    const u = expander.expand(seedAt(setup.seeds1, k), k);
    xorInto(u, t);
    xorInto(u, choices);
    tColumns.push(t);
    uColumns.push(u);
  }
  const uBytes = concatBytes(...uColumns);
  const [choiceHash, ...columnHashes] = hashColumns(binding, rows, uBytes, [choices, ...tColumns]) as [Uint8Array, ...Uint8Array[]];
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

  const qColumns: Uint8Array[] = [];
  const expectedHashes: Uint8Array[] = [];
  const expander = new ColumnExpander(binding, columnBytes);
  for (let k = 0; k < KAPPA; k++) {
    const q = expander.expand(seedAt(setup.seeds, k), k);
    const chosen = bitAt(setup.delta, k);
    const mask = -chosen & 0xff;
    const u = uBytes.subarray(k * columnBytes, (k + 1) * columnBytes);
    for (let i = 0; i < columnBytes; i++) q[i]! ^= u[i]! & mask;
    const expected = message.slice(hashesStart + k * CHECK_BYTES, hashesStart + (k + 1) * CHECK_BYTES);
    for (let i = 0; i < CHECK_BYTES; i++) expected[i]! ^= choiceHash[i]! & mask;
    qColumns.push(q);
    expectedHashes.push(expected);
  }
  let consistent = true;
  hashColumns(binding, rows, uBytes, qColumns).forEach((hash, k) => {
    consistent = equalBytes(hash, expectedHashes[k]!) && consistent;
  });
  if (!consistent) throw new DecodeError('ot-check-failed', 'OT extension consistency check failed: the receiver used inconsistent choices');
  return transpose(qColumns, rows);
}

/** Row j of the sender XOR its correlation: the key the receiver holds when its choice is 1. */
export function flipRow(row: Uint8Array, delta: Uint8Array): Uint8Array {
  const out = row.slice();
  xorInto(out, delta);
  return out;
}
