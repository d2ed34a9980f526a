/**
 * Running an approved EIP-5792 bundle: the calls are signed and sent one after the other through the
 * same path as eth_sendTransaction (../send-transaction.ts), with the nonces the approval page showed.
 * Each step is written to IndexedDB before the next, so wallet_getCallsStatus answers after a restart.
 *
 * When a call cannot be signed or sent, the bundle stops there: the later calls are not sent
 * ('skipped'; their nonces would leave a gap). When the co-signer holds a call for the wallet's
 * approvers (APPROVAL_PENDING), the bundle stops the same way, but the held call is not a failure: the
 * co-signer signs and sends it once approved, and the status stays 100 until it lands or is refused.
 */
import { keccak256, toHex } from 'viem';
import type { CallsBundleView } from '../api.js';
import type { ApprovalAction, ApprovalRecord } from '../approvals.js';
import { CosignerRefusedError } from '../../channel/protocol-conversation.js';
import { toRpcError, WalletError } from '../errors.js';
import { heldForApproval } from '../held-requests/activity.js';
import { clientOfChain, sendRawTransaction, signTransaction, transactionKnown } from '../send-transaction.js';
import { requireSession } from '../wallet.js';
import { addBundle, allBundles, getBundle, saveBundle, type BundleCall, type CallBundleRecord, type CallReceipt } from './bundle-record.js';
import { duplicateId, unknownBundle } from './errors.js';
import { CALLS_VERSION } from './params.js';
import { bundleStatus, isFinalStatus, type CallProgress } from './status.js';
import { findBundle } from './bundle-record.js';

type CallsAction = Extract<ApprovalAction, { kind: 'calls' }>;

/** Approved: stores the bundle, runs its calls, and answers the dapp `{ id }` (whatever became of each call). */
export async function executeBundle(record: ApprovalRecord, action: CallsAction): Promise<{ id: string }> {
  if (record.details.kind !== 'calls') throw new WalletError('UNKNOWN_REQUEST', 'Malformed approval.');
  const details = record.details;
  const bundle: CallBundleRecord = {
    ref: action.ref,
    id: action.bundleId,
    origin: record.origin,
    from: details.from,
    chainId: action.chainId,
    createdAt: Date.now(),
    calls: action.transactions.map((transaction, index) => ({ transaction, details: details.calls[index]!, state: 'queued' })),
  };
  try {
    await addBundle(bundle);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'ConstraintError') throw duplicateId(action.bundleId);
    throw error;
  }
  await runCalls(bundle, { origin: record.origin, method: record.method });
  return { id: bundle.id };
}

async function runCalls(bundle: CallBundleRecord, asked: { origin: string; method: string }): Promise<void> {
  for (const [index, call] of bundle.calls.entries()) {
    if (call.state !== 'queued') continue;
    call.state = 'signing';
    await saveBundle(bundle);
    try {
      call.rawTransaction = await signTransaction(call.transaction);
      call.state = 'signed';
      await saveBundle(bundle);
      call.transactionHash = await send(bundle.chainId, call.rawTransaction);
      call.state = 'sent';
      delete call.rawTransaction;
      await saveBundle(bundle);
    } catch (error) {
      if (error instanceof CosignerRefusedError && error.code === 'APPROVAL_PENDING') {
        const pending = await heldForApproval(error, 'transaction', asked).catch(() => undefined);
        call.state = 'held';
        call.heldRequestId = pending?.data.requestId ?? error.rule ?? 'unknown';
        call.error = pending?.message ?? error.shortMessage;
      } else {
        call.state = 'failed';
        call.error = toRpcError(error).message;
      }
      delete call.rawTransaction;
      skipRest(bundle, index + 1, call.state === 'held' ? 'Not sent: the call before it waits for the wallet’s approvers.' : 'Not sent: a call before it failed.');
      await saveBundle(bundle);
      return;
    }
  }
}

/** Sends signed bytes; a node that refuses bytes it already has ("already known") still has them. */
async function send(chainId: number, raw: `0x${string}`): Promise<`0x${string}`> {
  try {
    return await sendRawTransaction(chainId, raw);
  } catch (error) {
    const hash = keccak256(raw);
    if (await transactionKnown(chainId, hash)) return hash;
    throw error;
  }
}

function skipRest(bundle: CallBundleRecord, from: number, why: string): void {
  for (const call of bundle.calls.slice(from)) {
    if (call.state !== 'queued') continue;
    call.state = 'skipped';
    call.error = why;
  }
}

/**
 * After a worker restart: a signed call is sent again (the same bytes), one caught mid-signature ends as
 * failed (nothing was signed; its presignature is spent), and the calls after it are not sent.
 * Calls still queued behind a call that was sent are not sent either: the user approved a run that the
 * restart broke, and the dapp sees the partial status.
 */
export async function recoverBundle(ref: string): Promise<void> {
  const bundle = await getBundle(ref);
  if (!bundle) return;
  for (const [index, call] of bundle.calls.entries()) {
    if (call.state === 'signed' && call.rawTransaction) {
      try {
        call.transactionHash = await send(bundle.chainId, call.rawTransaction);
        call.state = 'sent';
      } catch (error) {
        call.state = 'failed';
        call.error = toRpcError(error).message;
      }
      delete call.rawTransaction;
    } else if (call.state === 'signing' || call.state === 'signed') {
      call.state = 'failed';
      call.error = 'The wallet restarted while signing this call, so it was not signed or sent.';
    } else if (call.state === 'queued') {
      skipRest(bundle, index, 'Not sent: the wallet restarted before it got to this call.');
      break;
    }
  }
  await saveBundle(bundle);
}

/** At worker start (no bundle runs then): every bundle left unfinished, also one whose approval is gone with the browser session. */
export async function recoverAllBundles(): Promise<void> {
  for (const bundle of await allBundles()) {
    if (bundle.calls.some((call) => call.state === 'queued' || call.state === 'signing' || call.state === 'signed')) await recoverBundle(bundle.ref);
  }
}

// ---- Status, from the chain.

interface Observed {
  status: number;
  receipts: CallReceipt[];
  perCall: { receipt?: CallReceipt; heldHash?: `0x${string}`; heldGone?: boolean }[];
}

/** Reads receipts (and the co-signer's word on held calls), and stores a final status so it is not read again. */
async function observe(bundle: CallBundleRecord): Promise<Observed> {
  if (bundle.final) {
    const byHash = new Map(bundle.final.receipts.map((receipt) => [receipt.transactionHash, receipt]));
    return { ...bundle.final, perCall: bundle.calls.map((call) => (call.transactionHash && byHash.get(call.transactionHash) ? { receipt: byHash.get(call.transactionHash)! } : {})) };
  }
  const client = await clientOfChain(bundle.chainId);
  const perCall: Observed['perCall'] = await Promise.all(
    bundle.calls.map(async (call) => {
      let hash = call.state === 'sent' ? call.transactionHash : undefined;
      const seen: Observed['perCall'][number] = {};
      if (call.state === 'held' && call.heldRequestId) {
        const held = await heldOutcome(call.heldRequestId);
        if (held.hash) hash = seen.heldHash = held.hash;
        else if (held.gone) seen.heldGone = true;
      }
      if (hash) {
        const receipt = await client.getTransactionReceipt({ hash }).catch(() => undefined);
        if (receipt) seen.receipt = toCallReceipt(receipt);
      }
      return seen;
    }),
  );
  const progress: CallProgress[] = bundle.calls.map((call, index) => {
    const seen = perCall[index]!;
    const state = seen.heldHash ? 'sent' : call.state;
    return { state, ...(seen.receipt ? { receipt: seen.receipt.status === '0x1' ? 'success' : 'reverted' } : {}), ...(call.state === 'held' ? { held: seen.heldGone ? 'gone' : 'waiting' } : {}) } as CallProgress;
  });
  const status = bundleStatus(progress);
  const receipts = perCall.flatMap((seen) => (seen.receipt ? [seen.receipt] : []));
  if (isFinalStatus(status)) {
    bundle.final = { status, receipts };
    for (const [index, seen] of perCall.entries()) if (seen.heldHash) bundle.calls[index]!.transactionHash = seen.heldHash;
    await saveBundle(bundle);
  }
  return { status, receipts, perCall };
}

/** A held call: its transaction hash once the co-signer signed it, or `gone` once it never will. Unknown (locked, offline): still waiting. */
async function heldOutcome(requestId: string): Promise<{ hash?: `0x${string}`; gone?: boolean }> {
  const view = await requireSession()
    .then((session) => session.request(requestId))
    .catch(() => undefined);
  if (!view) return {};
  const raw = view.result?.rawTransaction;
  const hash = view.result?.transactionHash ?? (raw ? keccak256(raw) : undefined);
  if (hash) return { hash };
  return view.state === 'rejected' || view.state === 'expired' || view.state === 'failed' ? { gone: true } : {};
}

function toCallReceipt(receipt: Awaited<ReturnType<Awaited<ReturnType<typeof clientOfChain>>['getTransactionReceipt']>>): CallReceipt {
  return {
    logs: receipt.logs.map((log) => ({ address: log.address, data: log.data, topics: [...log.topics] as `0x${string}`[] })),
    status: receipt.status === 'success' ? '0x1' : '0x0',
    blockHash: receipt.blockHash,
    blockNumber: toHex(receipt.blockNumber),
    gasUsed: toHex(receipt.gasUsed),
    transactionHash: receipt.transactionHash,
  };
}

/** wallet_getCallsStatus: only the site that sent the bundle knows it by its id. */
export async function callsStatus(origin: string, id: string) {
  const bundle = await findBundle(origin, id);
  if (!bundle) throw unknownBundle();
  const observed = await observe(bundle);
  return {
    version: CALLS_VERSION,
    id: bundle.id,
    chainId: toHex(bundle.chainId),
    status: observed.status,
    atomic: false,
    ...(observed.receipts.length ? { receipts: observed.receipts } : {}),
  };
}

/** The popup's view of a bundle (`#/calls/<ref>`, and the approval window once approved). */
export async function bundleView(ref: string, options: { readChain?: boolean } = {}): Promise<CallsBundleView> {
  const bundle = await getBundle(ref);
  if (!bundle) throw new WalletError('UNKNOWN_REQUEST', 'No such bundle.');
  const observed = options.readChain === false ? undefined : await observe(bundle).catch(() => undefined);
  return {
    ref: bundle.ref,
    id: bundle.id,
    origin: bundle.origin,
    chainId: bundle.chainId,
    createdAt: bundle.createdAt,
    status: observed?.status ?? bundleStatus(bundle.calls.map((call) => ({ state: call.state }))),
    calls: bundle.calls.map((call: BundleCall, index) => {
      const seen = observed?.perCall[index];
      const hash = call.transactionHash ?? seen?.heldHash;
      return {
        details: call.details,
        state: call.state,
        ...(hash ? { transactionHash: hash } : {}),
        ...(seen?.receipt ? { receiptStatus: seen.receipt.status === '0x1' ? 'success' : 'reverted' } : {}),
        ...(call.heldRequestId ? { heldRequestId: call.heldRequestId } : {}),
        ...(call.error ? { error: call.error } : {}),
      } as CallsBundleView['calls'][number];
    }),
  };
}
