/**
 * The one path by which a transaction is signed and sent: eth_sendTransaction (execute.ts) and each
 * call of a wallet_sendCalls bundle (calls/run-bundle.ts) both go through here. Signing is joint with
 * the co-signer (or, in emergency mode, with the backup here) over the exact transaction the user saw.
 */
import type { TransactionSerializable } from 'viem';
import { toViemSignature } from '../mpc/ethereum.js';
import { chainClient } from './chain-client.js';
import { WalletError } from './errors.js';
import { readSettings } from './settings.js';
import { signPayload } from './wallet.js';

const BIGINT_FIELDS = ['value', 'gas', 'gasPrice', 'maxFeePerGas', 'maxPriorityFeePerGas'] as const;

/** A value as storage.session (or IndexedDB as plain JSON) can keep it: bigints as decimal strings. */
export function toStorable(value: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value, (_, field: unknown) => (typeof field === 'bigint' ? field.toString() : field))) as Record<string, unknown>;
}

export function reviveTransaction(stored: Record<string, unknown>): TransactionSerializable {
  const transaction: Record<string, unknown> = { ...stored };
  for (const field of BIGINT_FIELDS) if (typeof transaction[field] === 'string') transaction[field] = BigInt(transaction[field]);
  return transaction as unknown as TransactionSerializable;
}

/** Signs a stored transaction; returns the serialised signed transaction. May throw CosignerRefusedError (APPROVAL_PENDING: held). */
export async function signTransaction(stored: Record<string, unknown>): Promise<`0x${string}`> {
  const { signature, payload } = await signPayload({ kind: 'transaction', transaction: reviveTransaction(stored) });
  return toViemSignature(payload, signature) as `0x${string}`;
}

/** The client of a configured chain, by id. */
export async function clientOfChain(chainId: number) {
  const chain = (await readSettings()).chains.find((known) => known.id === chainId);
  if (!chain) throw new WalletError('BAD_SETTING', `Chain ${chainId} was removed before the transaction could be sent.`);
  return chainClient(chain);
}

export async function sendRawTransaction(chainId: number, rawTransaction: `0x${string}`): Promise<`0x${string}`> {
  return (await clientOfChain(chainId)).sendRawTransaction({ serializedTransaction: rawTransaction });
}

/** Whether the node knows the transaction (a first send may have reached it before a restart or an "already known"). */
export async function transactionKnown(chainId: number, hash: `0x${string}`): Promise<boolean> {
  return clientOfChain(chainId)
    .then((client) => client.getTransaction({ hash }))
    .then(() => true)
    .catch(() => false);
}
