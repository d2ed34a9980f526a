/**
 * The WebAssembly module of scripts/wasm/module-wat.ts (secp256k1 point arithmetic, SHA-256
 * blocks), instantiated once, and the moves of field elements and points between BigInts and its
 * memory. Callers own regions of the
 * memory from allocate(); the module's own scratch comes first.
 */
import { base64 } from '@scure/base';
import { SCRATCH_END, WASM_MODULE_BASE64 } from './module-bytes.js';

/** p of secp256k1. */
const FIELD_ORDER = 2n ** 256n - 2n ** 32n - 977n;
/** Bytes of a field element (8 little-endian 32-bit limbs) and of a point (X, Y, Z). */
export const FIELD_BYTES = 32;
export const POINT_BYTES = 96;
/** Bytes of a scalar accumulator: 18 little-endian 32-bit limbs. */
export const ACCUMULATOR_BYTES = 72;

interface Exports {
  memory: WebAssembly.Memory;
  fe_mul(out: number, a: number, b: number): void;
  fe_add(out: number, a: number, b: number): void;
  fe_sub(out: number, a: number, b: number): void;
  pt_add(out: number, a: number, b: number): void;
  pt_double(out: number, a: number): void;
  /** acc += digit * P for an odd digit, from the row of the count odd multiples (2j + 1) P at `row`. */
  pt_add_selected(acc: number, row: number, count: number, digit: number): void;
  /** Compresses `blocks` 64-byte blocks at `data` into the 8-word SHA-256 state at `state`. */
  sha256_blocks(state: number, data: number, blocks: number): void;
  /** Keyed BLAKE3 XOF output blocks counter .. counter + blocks - 1 of a one-block input (see scripts/wasm/blake3-wat.ts). */
  blake3_xof(key: number, block: number, length: number, out: number, counter: number, blocks: number): void;
  /** The multiplication's row pads, 128 bytes per row (see scripts/wasm/blake3-wat.ts). */
  row_pads(key: number, rows: number, flip: number, count: number, out: number): void;
  /** The OT extension's column hashes (see scripts/wasm/column-hash-wat.ts). */
  hash_columns(matrix: number, rows: number, columns: number, stride: number, count: number, out: number): void;
  /** acc += a * b, for 32-byte big-endian a and b and an accumulator of ACCUMULATOR_BYTES. */
  sc_mac(acc: number, a: number, b: number): void;
  /** out = (negate ? -acc : acc) mod n, 32 bytes big-endian; the accumulator is zeroed. */
  sc_reduce(out: number, acc: number, negate: number): void;
}

export interface PointEngine extends Omit<Exports, 'memory'> {
  /** The module's memory as bytes (fixed size: the view stays valid). */
  readonly bytes: Uint8Array;
  /** A region of `bytes` that stays this caller's from now on. */
  allocate(bytes: number): number;
  writeField(at: number, value: bigint): void;
  readField(at: number): bigint;
  writePoint(at: number, point: readonly [bigint, bigint, bigint]): void;
  readPoint(at: number): [bigint, bigint, bigint];
  /** out = base^exponent mod p for a public exponent (4-bit fixed windows: the sequence depends on the exponent only). */
  pow(out: number, base: number, exponent: bigint): void;
  /** Copies `bytes` within the memory. */
  copy(to: number, from: number, bytes: number): void;
  /** Zeroes `size` bytes at `at`, and the module's temporaries: what a multiplication by a secret leaves behind. */
  wipe(at: number, size: number): void;
  /** Copies the point at `at` out into `to` at `offset`. */
  save(at: number, to: Uint8Array, offset: number): void;
  /** Copies `from` into the memory at `at`. */
  load(at: number, from: Uint8Array): void;
}

let engine: PointEngine | undefined;

/** A caller's regions of the module memory, allocated (and the module instantiated) on first use. */
export function moduleArea<Area>(allocate: (engine: PointEngine) => Area): () => Area {
  let area: Area | undefined;
  return () => (area ??= allocate(pointEngine()));
}

export function pointEngine(): PointEngine {
  engine ??= instantiate();
  return engine;
}

function instantiate(): PointEngine {
  // Synchronous compilation: allowed in workers (the service worker) and in Node, and the module is small.
  const module = new WebAssembly.Module(new Uint8Array(base64.decode(WASM_MODULE_BASE64)));
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  // The memory has a fixed size and never grows, so one view stays valid.
  const view = new DataView(exports.memory.buffer);
  const bytes = new Uint8Array(exports.memory.buffer);
  let next = SCRATCH_END;
  const allocate = (size: number): number => {
    const at = next;
    if (at + size > bytes.length) throw new RangeError('point engine memory exhausted');
    next += Math.ceil(size / 8) * 8;
    return at;
  };
  // base^0 .. base^15 for pow, and its accumulator.
  const powers = allocate(16 * FIELD_BYTES);
  const powAcc = allocate(FIELD_BYTES);
  return {
    bytes,
    fe_mul: exports.fe_mul,
    fe_add: exports.fe_add,
    fe_sub: exports.fe_sub,
    pt_add: exports.pt_add,
    pt_double: exports.pt_double,
    pt_add_selected: exports.pt_add_selected,
    sha256_blocks: exports.sha256_blocks,
    blake3_xof: exports.blake3_xof,
    hash_columns: exports.hash_columns,
    row_pads: exports.row_pads,
    sc_mac: exports.sc_mac,
    sc_reduce: exports.sc_reduce,
    allocate,
    pow(out, base, exponent) {
      if (exponent < 0n || exponent >> 256n !== 0n) throw new RangeError('exponent must be below 2^256');
      this.writeField(powers, 1n);
      this.copy(powers + FIELD_BYTES, base, FIELD_BYTES);
      for (let i = 2; i < 16; i++) exports.fe_mul(powers + i * FIELD_BYTES, powers + (i - 1) * FIELD_BYTES, base);
      this.writeField(powAcc, 1n);
      for (let shift = 252; shift >= 0; shift -= 4) {
        for (let s = 0; s < 4; s++) exports.fe_mul(powAcc, powAcc, powAcc);
        exports.fe_mul(powAcc, powAcc, powers + Number((exponent >> BigInt(shift)) & 15n) * FIELD_BYTES);
      }
      this.copy(out, powAcc, FIELD_BYTES);
      // The base may be a secret's coordinate: its powers go.
      bytes.fill(0, powers, powAcc + FIELD_BYTES);
    },
    writeField(at, value) {
      // The module's operations take field elements in [0, p) only.
      if (value < 0n || value >= FIELD_ORDER) throw new RangeError('field element out of range');
      let rest = value;
      for (let word = 0; word < 4; word++) {
        view.setBigUint64(at + 8 * word, BigInt.asUintN(64, rest), true);
        rest >>= 64n;
      }
    },
    readField(at) {
      return (
        (((((view.getBigUint64(at + 24, true) << 64n) | view.getBigUint64(at + 16, true)) << 64n) | view.getBigUint64(at + 8, true)) << 64n) |
        view.getBigUint64(at, true)
      );
    },
    writePoint(at, point) {
      for (let i = 0; i < 3; i++) this.writeField(at + i * FIELD_BYTES, point[i]!);
    },
    readPoint(at) {
      return [this.readField(at), this.readField(at + FIELD_BYTES), this.readField(at + 2 * FIELD_BYTES)];
    },
    copy(to, from, size) {
      bytes.copyWithin(to, from, from + size);
    },
    wipe(at, size) {
      bytes.fill(0, at, at + size);
      bytes.fill(0, 0, SCRATCH_END);
    },
    save(at, to, offset) {
      to.set(bytes.subarray(at, at + POINT_BYTES), offset);
    },
    load(at, from) {
      bytes.set(from, at);
    },
  };
}
