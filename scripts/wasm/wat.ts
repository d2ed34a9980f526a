/** Small builders of WebAssembly text shared by the generators in this folder. */

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
export const get = (name: string) => `(local.get $${name})`;
export const set = (name: string, value: string) => `(local.set $${name} ${value})`;

const M32 = '(i64.const 0xffffffff)';
/** The low and high 32 bits of a 64-bit value. */
export const low = (value: string) => `(i64.and ${value} ${M32})`;
export const high = (value: string) => `(i64.shr_u ${value} (i64.const 32))`;

/** The 32-bit value with its bytes reversed: big-endian data read or written by little-endian loads and stores. */
export const byteSwap32 = (value: string) => `(i32.or (i32.and (i32.rotl ${value} (i32.const 8)) (i32.const 0x00ff00ff)) (i32.and (i32.rotr ${value} (i32.const 8)) (i32.const 0xff00ff00)))`;
