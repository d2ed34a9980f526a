/**
 * What Tandem signs on Ethereum, and how a threshold signature becomes a viem
 * signature. Checklist item 6: a party never signs a digest it was handed;
 * it hashes the payload itself with these functions.
 */
import {
  hashMessage,
  hashTypedData,
  keccak256,
  serializeSignature,
  serializeTransaction,
  type Hex,
  type SignableMessage,
  type TransactionSerializable,
  type TypedDataDefinition,
} from 'viem';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { hexToBytes } from './bytes.js';
import type { RecoverableSignature } from './ecdsa.js';
import { InvalidArgumentError } from './errors.js';

export type SignablePayload =
  | { kind: 'message'; message: SignableMessage }
  | { kind: 'typedData'; typedData: TypedDataDefinition }
  | { kind: 'transaction'; transaction: TransactionSerializable };

/** The 32-byte digest a party signs for a payload, computed from the payload itself. */
export function payloadDigest(payload: SignablePayload): Uint8Array {
  try {
    switch (payload.kind) {
      case 'message':
        return hashMessage(payload.message, 'bytes');
      case 'typedData':
        return hexToBytes(hashTypedData(payload.typedData).slice(2));
      case 'transaction':
        if (payload.transaction.chainId === undefined) throw new Error('a transaction to sign must carry its chain id');
        return keccak256(serializeTransaction(payload.transaction), 'bytes');
    }
  } catch (cause) {
    throw new InvalidArgumentError(`Cannot hash this ${payload.kind} for signing.`, (cause as Error).message);
  }
  throw new InvalidArgumentError('Unknown payload kind.');
}

function toHex(value: bigint): Hex {
  return `0x${Array.from(numberToBytesBE(value, 32), (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The payload's signature in viem's form: a 65-byte hex signature (v = 27 + recid)
 * for messages and typed data; the signed serialised transaction (yParity) for transactions.
 */
export function toViemSignature(payload: SignablePayload, signature: RecoverableSignature): Hex {
  const r = toHex(signature.r);
  const s = toHex(signature.s);
  const v = BigInt(27 + signature.recid);
  // Typed transactions carry yParity; legacy ones carry v, which viem turns into EIP-155 form with the chain id.
  if (payload.kind === 'transaction') return serializeTransaction(payload.transaction, { r, s, v, yParity: signature.recid });
  return serializeSignature({ r, s, v });
}
