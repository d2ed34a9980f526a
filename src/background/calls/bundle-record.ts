/** EIP-5792 bundles as IndexedDB keeps them, so wallet_getCallsStatus answers after any restart. */
import type { BundleCallState, TransactionApprovalDetails } from '../api.js';
import { db } from '../db.js';

export interface BundleCall {
  /** What the approval page showed for this call. */
  details: TransactionApprovalDetails;
  /** The exact transaction to sign (bigints as decimal strings). */
  transaction: Record<string, unknown>;
  state: BundleCallState;
  /** Signed, kept until surely sent: a restart sends these same bytes again. */
  rawTransaction?: `0x${string}`;
  transactionHash?: `0x${string}`;
  /** Held by the co-signer for the wallet's approvers: its request id. */
  heldRequestId?: string;
  error?: string;
}

/** An EIP-5792 receipt as wallet_getCallsStatus returns it. */
export interface CallReceipt {
  logs: { address: `0x${string}`; data: `0x${string}`; topics: `0x${string}`[] }[];
  status: '0x1' | '0x0';
  blockHash: `0x${string}`;
  blockNumber: `0x${string}`;
  gasUsed: `0x${string}`;
  transactionHash: `0x${string}`;
}

export interface CallBundleRecord {
  /** Wallet-side key (a UUID): what `#/calls/<ref>` names; the dapp never sees it. */
  ref: string;
  /** The dapp's id, or one Tandem made (0x + 32 random bytes). Unique per origin. */
  id: string;
  origin: string;
  from: `0x${string}`;
  chainId: number;
  createdAt: number;
  calls: BundleCall[];
  /** Set once the status is final (200, 400, 500, 600): the chain is not asked again. */
  final?: { status: number; receipts: CallReceipt[] };
}

export async function getBundle(ref: string): Promise<CallBundleRecord | undefined> {
  return (await db()).get('callBundles', ref);
}

export async function findBundle(origin: string, id: string): Promise<CallBundleRecord | undefined> {
  return (await db()).getFromIndex('callBundles', 'byOriginId', [origin, id]);
}

/** Adds a new bundle; a second one with the same origin and id fails (the index is unique). */
export async function addBundle(record: CallBundleRecord): Promise<void> {
  const tx = (await db()).transaction('callBundles', 'readwrite', { durability: 'strict' });
  await Promise.all([tx.store.add(record), tx.done]);
}

export async function saveBundle(record: CallBundleRecord): Promise<void> {
  const tx = (await db()).transaction('callBundles', 'readwrite', { durability: 'strict' });
  await Promise.all([tx.store.put(record), tx.done]);
}

export async function allBundles(): Promise<CallBundleRecord[]> {
  return (await db()).getAll('callBundles');
}
