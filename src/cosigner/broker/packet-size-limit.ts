/**
 * Follows MQTT packet boundaries in a byte stream and reports the first packet whose declared
 * size exceeds a limit, as soon as its fixed header arrives.
 *
 * Aedes 1.x has no packet-size limit, and the WebSocket `maxPayload` bounds only single frames:
 * a client could split one huge PUBLISH over many frames and the MQTT parser would buffer all of
 * it. Reading the fixed header (type byte + 1-4 byte remaining length, MQTT 3.1.1 section 2.2)
 * is all it takes to refuse such a packet before its body is buffered.
 */
export class PacketSizeLimit {
  readonly #maxPacketBytes: number;
  #phase: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;
  #violated = false;

  constructor(maxPacketBytes: number) {
    this.#maxPacketBytes = maxPacketBytes;
  }

  /** Feeds the next bytes; returns false once a packet is too large or malformed (and for ever after). */
  accept(chunk: Uint8Array): boolean {
    let at = 0;
    while (!this.#violated && at < chunk.length) {
      if (this.#phase === 'type') {
        at += 1;
        this.#phase = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
      } else if (this.#phase === 'length') {
        const byte = chunk[at++]!;
        this.#length += (byte & 0x7f) * this.#multiplier;
        this.#multiplier *= 128;
        this.#lengthBytes += 1;
        if (byte & 0x80) {
          if (this.#lengthBytes === 4) this.#violated = true;
          continue;
        }
        const total = 1 + this.#lengthBytes + this.#length;
        if (total > this.#maxPacketBytes) this.#violated = true;
        this.#remaining = this.#length;
        this.#phase = this.#remaining === 0 ? 'type' : 'body';
      } else {
        const take = Math.min(this.#remaining, chunk.length - at);
        at += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#phase = 'type';
      }
    }
    return !this.#violated;
  }
}
