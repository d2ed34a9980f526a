/**
 * Generates the WebAssembly text of the OT extension's column hashes (src/mpc/ot/extension.ts):
 * for each column, the XOR of the 256-bit matrix rows its bits select, plus its 256 padding bits.
 * 128 columns of ~400 rows each per extension, on both sides; in JavaScript a row was eight
 * masked 32-bit XORs, here two 128-bit ones (WebAssembly SIMD, in Chrome since 91, Firefox since
 * 89, Node since 16). The columns are secret: a bit becomes a mask, never a branch.
 *
 * hash_columns(matrix, rows, columns, stride, count, out): column c is `stride` bytes at
 * columns + c stride (rows bits, then 32 bytes of padding); its hash goes to out + 32 c.
 */
export function columnHashFunction(): string {
  return `(func $hash_columns (export "hash_columns") (param $matrix i32) (param $rows i32) (param $columns i32) (param $stride i32) (param $count i32) (param $out i32)
  (local $column i32) (local $row i32) (local $at i32) (local $mask v128) (local $low v128) (local $high v128)
  (block $columns_done (loop $next_column
    (br_if $columns_done (i32.eqz (local.get $count)))
    (local.set $low (v128.const i64x2 0 0))
    (local.set $high (v128.const i64x2 0 0))
    (local.set $row (i32.const 0))
    (local.set $at (local.get $matrix))
    (block $rows_done (loop $next_row
      (br_if $rows_done (i32.ge_u (local.get $row) (local.get $rows)))
      ;; mask = all ones when bit row of the column is set
      (local.set $mask (i32x4.splat (i32.sub (i32.const 0)
        (i32.and (i32.shr_u (i32.load8_u (i32.add (local.get $columns) (i32.shr_u (local.get $row) (i32.const 3)))) (i32.and (local.get $row) (i32.const 7))) (i32.const 1)))))
      (local.set $low (v128.xor (local.get $low) (v128.and (v128.load (local.get $at)) (local.get $mask))))
      (local.set $high (v128.xor (local.get $high) (v128.and (v128.load offset=16 (local.get $at)) (local.get $mask))))
      (local.set $at (i32.add (local.get $at) (i32.const 32)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $next_row)))
    ;; the padding bits after the rows
    (local.set $at (i32.add (local.get $columns) (i32.shr_u (local.get $rows) (i32.const 3))))
    (v128.store (local.get $out) (v128.xor (local.get $low) (v128.load (local.get $at))))
    (v128.store offset=16 (local.get $out) (v128.xor (local.get $high) (v128.load offset=16 (local.get $at))))
    (local.set $columns (i32.add (local.get $columns) (local.get $stride)))
    (local.set $out (i32.add (local.get $out) (i32.const 32)))
    (local.set $count (i32.sub (local.get $count) (i32.const 1)))
    (br $next_column)))
)`;
}
