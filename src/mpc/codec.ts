import { DecodeError } from './errors.js';
import { POINT_BYTES, SCALAR_BYTES, pointFromBytes, pointToBytes, scalarFromBytes, scalarToBytes, type Point } from './curve.js';
import { concatBytes } from './bytes.js';

/** Builds a protocol payload from fixed-size fields; the matching Reader enforces every size. */
export class PayloadWriter {
  private readonly parts: Uint8Array[] = [];

  bytes(value: Uint8Array): this {
    this.parts.push(value);
    return this;
  }

  scalar(value: bigint): this {
    return this.bytes(scalarToBytes(value));
  }

  scalars(values: readonly bigint[]): this {
    for (const value of values) this.scalar(value);
    return this;
  }

  point(value: Point): this {
    return this.bytes(pointToBytes(value));
  }

  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

/** Reads a payload whose layout is fixed by the round; any size mismatch is a decode error. */
export class PayloadReader {
  private offset = 0;

  constructor(private readonly data: Uint8Array) {}

  bytes(length: number): Uint8Array {
    if (this.offset + length > this.data.length) {
      throw new DecodeError('bad-encoding', `payload too short: wanted ${length} more bytes at offset ${this.offset} of ${this.data.length}`);
    }
    const out = this.data.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  scalar(): bigint {
    return scalarFromBytes(this.bytes(SCALAR_BYTES));
  }

  scalars(count: number): bigint[] {
    const out: bigint[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = this.scalar();
    return out;
  }

  point(): Point {
    return pointFromBytes(this.bytes(POINT_BYTES));
  }

  end(): void {
    if (this.offset !== this.data.length) {
      throw new DecodeError('bad-encoding', `payload has ${this.data.length - this.offset} unexpected trailing bytes`);
    }
  }
}
