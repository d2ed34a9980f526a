/**
 * The secp256k1 point arithmetic of scripts/wasm/secp256k1-wat.ts, instantiated once, and the
 * moves of field elements and points between BigInts and its memory. Callers own regions of the
 * memory from allocate(); the module's own scratch comes first.
 */
import { base64 } from '@scure/base';
import { SECP256K1_WASM_BASE64 } from './secp256k1-module.js';

/** Bytes of a field element (8 little-endian 32-bit limbs) and of a point (X, Y, Z). */
export const FIELD_BYTES = 32;
export const POINT_BYTES = 96;
/** Must match SCRATCH_END of the generator: the module's zero and temporaries live below it. */
const SCRATCH_END = 1024;

interface Exports {
  memory: WebAssembly.Memory;
  fe_mul(out: number, a: number, b: number): void;
  fe_add(out: number, a: number, b: number): void;
  fe_sub(out: number, a: number, b: number): void;
  pt_add(out: number, a: number, b: number): void;
  pt_double(out: number, a: number): void;
  pt_add_selected(acc: number, row: number, count: number, index: number, negative: number): void;
}

export interface PointEngine extends Omit<Exports, 'memory'> {
  /** A region of `bytes` that stays this caller's for the life of the process. */
  allocate(bytes: number): number;
  writeField(at: number, value: bigint): void;
  readField(at: number): bigint;
  /** Copies `bytes` within the memory. */
  copy(to: number, from: number, bytes: number): void;
}

let engine: PointEngine | undefined;

export function pointEngine(): PointEngine {
  engine ??= instantiate();
  return engine;
}

function instantiate(): PointEngine {
  // Synchronous compilation: allowed in workers (the service worker) and in Node, and the module is small.
  const module = new WebAssembly.Module(new Uint8Array(base64.decode(SECP256K1_WASM_BASE64)));
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  // The memory has a fixed size and never grows, so one view stays valid.
  const view = new DataView(exports.memory.buffer);
  const bytes = new Uint8Array(exports.memory.buffer);
  let next = SCRATCH_END;
  return {
    fe_mul: exports.fe_mul,
    fe_add: exports.fe_add,
    fe_sub: exports.fe_sub,
    pt_add: exports.pt_add,
    pt_double: exports.pt_double,
    pt_add_selected: exports.pt_add_selected,
    allocate(size) {
      const at = next;
      if (at + size > bytes.length) throw new RangeError('point engine memory exhausted');
      next += Math.ceil(size / 8) * 8;
      return at;
    },
    writeField(at, value) {
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
    copy(to, from, size) {
      bytes.copyWithin(to, from, from + size);
    },
  };
}
