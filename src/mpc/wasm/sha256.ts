/**
 * SHA-256 (FIPS 180-4) with its compression in the WebAssembly module (see
 * scripts/wasm/sha256-wat.ts for why), behind the incremental update/digest interface of
 * @noble/hashes. Each hasher keeps its own state here, so hashers may interleave.
 */
import { moduleArea, type PointEngine } from './engine.js';

const BLOCK = 64;
/** The module's input area: whole blocks are copied there, this many at a time. */
const CHUNK_BLOCKS = 256;
const INITIAL_STATE = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);

interface Area {
  engine: PointEngine;
  view: DataView;
  state: number;
  data: number;
}
const hashingArea = moduleArea((engine): Area => ({ engine, view: new DataView(engine.bytes.buffer), state: engine.allocate(32), data: engine.allocate(CHUNK_BLOCKS * BLOCK) }));

export class Sha256 {
  private readonly state = Uint32Array.from(INITIAL_STATE);
  private readonly pending = new Uint8Array(BLOCK);
  private pendingLength = 0;
  private length = 0;
  private finished = false;
  /** How much of the module's data area this hasher's copies reached, to wipe. */
  private dataUsed = 0;

  update(input: Uint8Array): this {
    if (this.finished) throw new Error('SHA-256 hasher already finished');
    // Bytes inside the module's memory could be overwritten by the copies below: hash a copy.
    const data = input.buffer === hashingArea().engine.bytes.buffer ? input.slice() : input;
    this.length += data.length;
    let offset = 0;
    if (this.pendingLength > 0) {
      const take = Math.min(BLOCK - this.pendingLength, data.length);
      this.pending.set(data.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < BLOCK) return this;
      this.compress(this.pending);
      this.pendingLength = 0;
    }
    const whole = Math.floor((data.length - offset) / BLOCK) * BLOCK;
    if (whole > 0) this.compress(data.subarray(offset, offset + whole));
    offset += whole;
    this.pending.set(data.subarray(offset), 0);
    this.pendingLength = data.length - offset;
    return this;
  }

  digest(): Uint8Array {
    if (this.finished) throw new Error('SHA-256 hasher already finished');
    // Padding: 0x80, zeros, then the message length in bits as a big-endian 64-bit integer.
    const tailBlocks = this.pendingLength + 9 > BLOCK ? 2 : 1;
    const tail = new Uint8Array(tailBlocks * BLOCK);
    tail.set(this.pending.subarray(0, this.pendingLength));
    tail[this.pendingLength] = 0x80;
    const view = new DataView(tail.buffer);
    const bits = this.length * 8;
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.compress(tail);
    this.finished = true;
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setUint32(4 * i, this.state[i]!);
    // Transcripts hash secrets (OT keys, seeds): neither the state nor any input stays behind.
    const { engine, state, data } = hashingArea();
    engine.bytes.fill(0, state, state + 32);
    engine.bytes.fill(0, data, data + this.dataUsed);
    this.state.fill(0);
    this.pending.fill(0);
    tail.fill(0);
    return out;
  }

  /** Compresses whole blocks through the module, CHUNK_BLOCKS at a time. */
  private compress(blocks: Uint8Array): void {
    const { engine, view, state, data } = hashingArea();
    // The module's memory is little-endian whatever the platform.
    for (let i = 0; i < 8; i++) view.setUint32(state + 4 * i, this.state[i]!, true);
    for (let offset = 0; offset < blocks.length; offset += CHUNK_BLOCKS * BLOCK) {
      const chunk = blocks.subarray(offset, Math.min(blocks.length, offset + CHUNK_BLOCKS * BLOCK));
      engine.bytes.set(chunk, data);
      this.dataUsed = Math.max(this.dataUsed, chunk.length);
      engine.sha256_blocks(state, data, chunk.length / BLOCK);
    }
    for (let i = 0; i < 8; i++) this.state[i] = view.getUint32(state + 4 * i, true);
  }
}
