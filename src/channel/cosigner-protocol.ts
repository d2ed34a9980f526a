/**
 * What a device asks of its co-signer, and what the co-signer answers: the bodies of channel
 * conversations. One conversation may carry several requests in turn (presign, then sign),
 * so a full signature pays for one handshake.
 *
 * A body is [u32 header length][header JSON][u16 count]([u32 length][encoded MPC message])*:
 * MPC messages travel as the binary envelopes of src/mpc, never re-encoded.
 */
import type { Hex, SignableMessage, TypedDataDefinition } from 'viem';
import { parseTransaction, serializeTransaction, type TransactionSerializable } from 'viem';
import type { SignablePayload } from '../mpc/ethereum.js';
import { sharePossessionContext } from '../mpc/share-proof.js';
import { stateFromJson, stateToJson } from '../mpc/state.js';

export const COSIGNER_PROTOCOL_VERSION = 1;

/** MPC party ids of a Tandem wallet. */
export const DEVICE_PARTY = 1;
export const COSIGNER_PARTY = 2;
export const BACKUP_PARTY = 3;

/** A payload as it travels: a transaction as its unsigned serialisation, which both sides parse and hash themselves. */
export type WirePayload =
  | { kind: 'message'; message: SignableMessage }
  | { kind: 'typedData'; typedData: TypedDataDefinition }
  | { kind: 'transaction'; serialized: Hex };

export type DeviceRequest =
  | { type: 'keygen'; parties: number[]; session: Hex }
  /** `generation` is the device share's: the co-signer refuses with STALE_SHARE when its own differs. */
  | { type: 'presign'; presignatureId: string; session: Hex; generation: number }
  /** Re-shares the key among all parties with new OT material; unlocks a wallet locked after a failed check. Two-phase: reshare-ready, then reshare-commit. */
  | { type: 'refresh'; session: Hex }
  /**
   * From a device enrolled to restore: the backup party (run by the device from the recovery kit)
   * and the co-signer re-share the key to the device, the co-signer and a new backup. `generation`
   * is the kit's: the co-signer refuses a kit from before its last refresh with STALE_SHARE.
   * `backupProof` proves the backup share (see restoreProofContext) before the co-signer deals anything.
   */
  | { type: 'restore'; session: Hex; generation: number; backupProof: Hex }
  /**
   * The device and the co-signer deal the key to the device, the co-signer and a NEW backup: a
   * new recovery kit (when the old one is lost, or as a refresh that needs no kit), and the way a
   * 2-of-2 wallet becomes 2-of-3. `generation` is the device share's. Two-phase, as a restore.
   */
  | { type: 'new-backup'; session: Hex; generation: number }
  /**
   * Second phase of a restore or a new backup: the device stored its new share and the new kit, so
   * the co-signer makes its own new share current and revokes every other device.
   */
  | { type: 'reshare-commit'; generation: number; sharesDigest: Hex }
  /** The device's online message for the presignature comes attached: the co-signer answers with its own. */
  | { type: 'sign'; presignatureId: string; payload: WirePayload }
  /**
   * Presign and sign in one go, with no pooled presignature: the co-signer checks the payload and
   * policy first, and the presignature lives only in memory, used once, never stored. The device's
   * online message follows with its last presign round. `generation` as for presign.
   */
  | { type: 'sign-now'; session: Hex; generation: number; payload: WirePayload }
  /** Further MPC messages of the request in progress. */
  | { type: 'mpc' }
  | { type: 'bye' };

export type CosignerReply =
  | { type: 'mpc' }
  | { type: 'keygen-done'; address: Hex; publicKey: Hex; generation: number }
  | { type: 'presigned'; presignatureId: string }
  /**
   * The co-signer holds its new share aside; the old shares stay in force until reshare-commit.
   * `sharesDigest` (publicSharesDigest) names this run's sharing: the commit must name the same.
   */
  | { type: 'reshare-ready'; address: Hex; generation: number; sharesDigest: Hex }
  | { type: 'reshare-done'; address: Hex; generation: number }
  | { type: 'signed'; presignatureId?: string }
  | { type: 'refused'; code: RefusalCode; reason: string; rule?: string };

export type RefusalCode =
  /** A wallet policy forbids this request; `rule` names which. */
  | 'POLICY'
  /** The wallet is locked after a failed protocol check, until it is refreshed. */
  | 'WALLET_LOCKED'
  | 'UNKNOWN_WALLET'
  | 'UNKNOWN_PRESIGNATURE'
  /** The device and the co-signer hold shares of different generations (a refresh did not finish on both); `rule` is the co-signer's generation. */
  | 'STALE_SHARE'
  | 'BAD_REQUEST'
  /** A restore waits out the wallet's restore delay; `rule` is when it may run (unix ms). */
  | 'RESTORE_DELAYED'
  /**
   * The wallet's policy (restoreNeedsOperator) holds a restore until the co-signer's operator approved
   * this restoring device (`devices approve-restore`); the device asks again every few seconds.
   */
  | 'RESTORE_NEEDS_APPROVAL'
  /** This device was revoked (by the operator, or replaced by a restore): it can never sign again. */
  | 'DEVICE_REVOKED'
  /** A device enrolled to restore may do nothing else until its restore is committed. */
  | 'NOT_RESTORED'
  /** The restore's proof of the backup share does not verify: the kit is not this wallet's. The restoring device is revoked. */
  | 'BACKUP_PROOF_INVALID'
  /** The wallet's policy requires a key refresh (`rule` 'refresh-every') before it presigns or signs again. */
  | 'REFRESH_REQUIRED'
  /**
   * The wallet's policy holds this request for approvers (`rule` is its request id): the device's
   * part is done and its presignature spent; the co-signer finishes the signature once approved and
   * mails the result. Nothing else to do but wait (or ask: mail 'inquire').
   */
  | 'APPROVAL_PENDING'
  /** A request that needs approval came without a presignature (sign-now): presign, then sign. */
  | 'APPROVAL_NEEDS_PRESIGNATURE'
  /** The co-signer is draining (shutting down): it read and spent nothing for this request. Send it again in a moment. */
  | 'UNAVAILABLE'
  | 'PROTOCOL_ABORT'
  | 'INTERNAL';

/**
 * What a restore's proof of the backup share is bound to: this restore's session, the wallet, the
 * restoring device and the kit's generation. The co-signer deals its share only after it verified.
 */
export function restoreProofContext(parts: { session: Hex; walletId: string; deviceId: string; generation: number }): Uint8Array {
  return sharePossessionContext('tandem/restore/v1', parts.session.toLowerCase(), parts.walletId, parts.deviceId, parts.generation);
}

export interface ProtocolBody<Header> {
  header: Header;
  messages: Uint8Array[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeBody(header: DeviceRequest | CosignerReply, messages: Uint8Array[] = []): Uint8Array {
  const json = encoder.encode(stateToJson({ v: COSIGNER_PROTOCOL_VERSION, ...header }));
  const size = 4 + json.length + 2 + messages.reduce((sum, message) => sum + 4 + message.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length);
  out.set(json, 4);
  let offset = 4 + json.length;
  view.setUint16(offset, messages.length);
  offset += 2;
  for (const message of messages) {
    view.setUint32(offset, message.length);
    out.set(message, offset + 4);
    offset += 4 + message.length;
  }
  return out;
}

export class ProtocolBodyError extends Error {
  override name = 'ProtocolBodyError';
  readonly code = 'BAD_REQUEST';
  readonly shortMessage: string;
  constructor(details: string, cause?: unknown) {
    super(`A co-signer protocol message is malformed.\n\nDetails: ${details}`, { cause });
    this.shortMessage = 'A co-signer protocol message is malformed.';
  }
}

const MAX_MESSAGES = 16;

export function decodeBody<Header extends { type: string }>(bytes: Uint8Array, allowedTypes: readonly Header['type'][]): ProtocolBody<Header> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (offset: number, length: number) => {
    if (offset + length > bytes.length) throw new ProtocolBodyError('truncated body');
  };
  need(0, 4);
  const jsonLength = view.getUint32(0);
  need(4, jsonLength + 2);
  let header: Header & { v?: number };
  try {
    header = stateFromJson(decoder.decode(bytes.subarray(4, 4 + jsonLength)));
  } catch (cause) {
    throw new ProtocolBodyError('header is not JSON', cause);
  }
  if (!header || typeof header !== 'object' || header.v !== COSIGNER_PROTOCOL_VERSION) throw new ProtocolBodyError('unsupported protocol version');
  if (!allowedTypes.includes(header.type)) throw new ProtocolBodyError(`unexpected message type ${JSON.stringify(header.type)}`);
  let offset = 4 + jsonLength;
  const count = view.getUint16(offset);
  offset += 2;
  if (count > MAX_MESSAGES) throw new ProtocolBodyError('too many MPC messages');
  const messages: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    need(offset, 4);
    const length = view.getUint32(offset);
    need(offset + 4, length);
    messages.push(bytes.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (offset !== bytes.length) throw new ProtocolBodyError('trailing bytes');
  const { v: _version, ...rest } = header;
  return { header: rest as Header, messages };
}

/** The payload both sides hash. A transaction must carry its chain id (replay protection across chains). */
export function payloadFromWire(wire: WirePayload): SignablePayload {
  switch (wire.kind) {
    case 'message':
      return { kind: 'message', message: wire.message };
    case 'typedData':
      return { kind: 'typedData', typedData: wire.typedData };
    case 'transaction': {
      let transaction: TransactionSerializable;
      try {
        transaction = parseTransaction(wire.serialized) as TransactionSerializable;
      } catch (cause) {
        throw new ProtocolBodyError('the transaction does not parse', cause);
      }
      if (transaction.chainId === undefined) throw new ProtocolBodyError('the transaction has no chain id');
      return { kind: 'transaction', transaction };
    }
    default:
      throw new ProtocolBodyError('unknown payload kind');
  }
}

export function payloadToWire(payload: SignablePayload): WirePayload {
  if (payload.kind === 'transaction') return { kind: 'transaction', serialized: serializeTransaction(payload.transaction) };
  return payload;
}
