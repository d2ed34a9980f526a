import { describe, expect, it } from 'vitest';
import { PacketSizeLimit } from './packet-size-limit.js';

/** A QoS 1 PUBLISH encoded as in MQTT 3.1.1 section 3.3. */
function publish(payloadBytes: number): Buffer {
  const topic = Buffer.from('tandem/v1/w/x/to/cosigner');
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([0, 1]), Buffer.alloc(payloadBytes, 7)]);
  const length: number[] = [];
  let rest = body.length;
  do {
    const byte = rest % 128;
    rest = Math.floor(rest / 128);
    length.push(rest > 0 ? byte | 0x80 : byte);
  } while (rest > 0);
  return Buffer.concat([Buffer.from([0x32, ...length]), body]);
}

const PINGREQ = Buffer.from([0xc0, 0x00]);

describe('PacketSizeLimit', () => {
  it('accepts a stream of packets at or under the limit, however it is split', () => {
    const packets = Buffer.concat([publish(10), publish(200), PINGREQ, publish(3000)]);
    const largest = publish(3000).length;
    for (const step of [1, 2, 3, 7, 64, packets.length]) {
      const limit = new PacketSizeLimit(largest);
      for (let at = 0; at < packets.length; at += step) expect(limit.accept(packets.subarray(at, at + step))).toBe(true);
    }
  });

  it('refuses a packet one byte over the limit from its header alone', () => {
    const packet = publish(3000);
    const limit = new PacketSizeLimit(packet.length - 1);
    expect(limit.accept(packet.subarray(0, 4))).toBe(false);
    expect(limit.accept(publish(1))).toBe(false);
  });

  it('refuses a packet that follows acceptable ones', () => {
    const limit = new PacketSizeLimit(500);
    expect(limit.accept(Buffer.concat([publish(100), publish(100)]))).toBe(true);
    expect(limit.accept(publish(1000).subarray(0, 3))).toBe(false);
  });

  it('refuses a remaining length longer than four bytes', () => {
    expect(new PacketSizeLimit(Number.MAX_SAFE_INTEGER).accept(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(false);
  });
});
