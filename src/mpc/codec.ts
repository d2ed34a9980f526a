import { DecodeError } from './errors.js';
import { POINT_BYTES, SCALAR_BYTES, assertPeerScalar, pointFromBytes, pointToBytes, readScalar, writeScalar, type Point } from './curve.js';

/**
 * Builds a protocol payload from fixed-size fields; the matching Reader enforces every size.
 * Scalars are kept as bigints until finish(), which writes everything into one buffer: a
 * multiplication message holds over a thousand of them.
 */
export class PayloadWriter {
  private readonly parts: Array<Uint8Array | bigint> = [];
  private length = 0;

  bytes(value: Uint8Array): this {
    this.parts.push(value);
    this.length += value.length;
    return this;
  }

  scalar(value: bigint): this {
    this.parts.push(value);
    this.length += SCALAR_BYTES;
    return this;
  }

  scalars(values: readonly bigint[]): this {
    for (const value of values) this.scalar(value);
    return this;
  }

  point(value: Point): this {
    return this.bytes(pointToBytes(value));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    const view = new DataView(out.buffer);
    let offset = 0;
    for (const part of this.parts) {
      if (typeof part === 'bigint') {
        writeScalar(view, offset, part);
        offset += SCALAR_BYTES;
      } else {
        out.set(part, offset);
        offset += part.length;
      }
    }
    return out;
  }
}

/** Reads a payload whose layout is fixed by the round; any size mismatch is a decode error. */
export class PayloadReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private take(length: number): number {
    if (this.offset + length > this.data.length) {
      throw new DecodeError('bad-encoding', `payload too short: wanted ${length} more bytes at offset ${this.offset} of ${this.data.length}`);
    }
    const at = this.offset;
    this.offset += length;
    return at;
  }

  bytes(length: number): Uint8Array {
    const at = this.take(length);
    return this.data.slice(at, at + length);
  }

  scalar(): bigint {
    return assertPeerScalar(readScalar(this.view, this.take(SCALAR_BYTES)));
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
