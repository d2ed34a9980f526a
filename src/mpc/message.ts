import { bytesToHex, hexToBytes } from './bytes.js';
import { DecodeError } from './errors.js';

export const MESSAGE_VERSION = 1;
/** Appended only: a protocol's number is its index on the wire. */
export const PROTOCOLS = ['dkg', 'refresh', 'sign', 'reshare'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** One protocol message: who sends it to whom, in which session and round. The payload layout is fixed per round. */
export interface ProtocolMessage {
  version: typeof MESSAGE_VERSION;
  protocol: ProtocolName;
  /** Hex of the 32-byte session id the caller chose for this run. */
  session: string;
  from: number;
  to: number;
  round: number;
  payload: Uint8Array;
}

const HEADER_BYTES = 1 + 1 + 32 + 1 + 1 + 1 + 4;
export const MAX_PAYLOAD_BYTES = 1 << 20;

/** Wire form: version, protocol, session, from, to, round, payload length, payload. */
export function encodeMessage(message: ProtocolMessage): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + message.payload.length);
  const view = new DataView(out.buffer);
  out[0] = message.version;
  out[1] = PROTOCOLS.indexOf(message.protocol);
  out.set(hexToBytes(message.session), 2);
  out[34] = message.from;
  out[35] = message.to;
  out[36] = message.round;
  view.setUint32(37, message.payload.length);
  out.set(message.payload, HEADER_BYTES);
  return out;
}

export function decodeMessage(bytes: Uint8Array): ProtocolMessage {
  if (bytes.length < HEADER_BYTES) throw new DecodeError('bad-encoding', 'message shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== MESSAGE_VERSION) throw new DecodeError('unsupported-version', `message version ${bytes[0]} is not ${MESSAGE_VERSION}`);
  const protocol = PROTOCOLS[bytes[1]!];
  if (!protocol) throw new DecodeError('wrong-protocol', `unknown protocol number ${bytes[1]}`);
  const length = view.getUint32(37);
  if (length > MAX_PAYLOAD_BYTES || bytes.length !== HEADER_BYTES + length) throw new DecodeError('bad-encoding', 'payload length does not match');
  return {
    version: MESSAGE_VERSION,
    protocol,
    session: bytesToHex(bytes.subarray(2, 34)),
    from: bytes[34]!,
    to: bytes[35]!,
    round: bytes[36]!,
    payload: bytes.slice(HEADER_BYTES),
  };
}

export function messageBytes(message: ProtocolMessage): number {
  return HEADER_BYTES + message.payload.length;
}
