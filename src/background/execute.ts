/**
 * What happens when the user decides: connect, sign a message or typed data, sign and send a
 * transaction, add a chain. And, when a restarted worker finds approvals it was working on, what
 * becomes of them: a transaction signed but not yet sent is sent; anything caught mid-signature
 * fails cleanly (the presignature it took is gone for good; nothing was signed).
 */
import { keccak256 } from 'viem';
import { reviveTypedData } from './requests/typed-data-params.js';
import type { ApprovalView } from './api.js';
import { approvalView, finish, getApproval, saveApproval, allApprovals, type ApprovalRecord } from './approvals.js';
import { chainClient } from './chain-client.js';
import { WalletError, invalidParams, toRpcError, userRejected } from './errors.js';
import { emitAccountsChanged, emitChainChanged } from './events.js';
import { grant } from './permissions.js';
import { readSettings, writeSettings } from './settings.js';
import { signPayload, touch, walletAddress, walletStatus } from './wallet.js';
import { toViemSignature } from '../mpc/ethereum.js';
import { sendRawTransaction, signTransaction, transactionKnown as knownOnChain } from './send-transaction.js';
import { executeBundle, recoverBundle } from './calls/run-bundle.js';
import { addWatchedToken } from './watch-asset/watched-tokens.js';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import { heldForApproval } from './held-requests/activity.js';

/** Approvals being decided right now: two clicks (or a popup's retry) must not sign twice. */
const deciding = new Set<string>();

export async function decide(id: string, approve: boolean): Promise<ApprovalView> {
  if (deciding.has(id)) {
    const current = await getApproval(id);
    if (current) return approvalView(current);
  }
  deciding.add(id);
  try {
    return await decideOnce(id, approve);
  } finally {
    deciding.delete(id);
  }
}

async function decideOnce(id: string, approve: boolean): Promise<ApprovalView> {
  const record = await getApproval(id);
  if (!record) throw new WalletError('UNKNOWN_REQUEST', 'This request is no longer waiting (it was answered, or the browser restarted).');
  // A second decision (a popup retrying after a worker restart) changes nothing.
  if (record.stage !== 'pending') return approvalView(record);
  if (!approve) return approvalView(await finish(record, { error: userRejected().toBody() }, 'rejected'));
  if ((await walletStatus()) !== 'unlocked') throw new WalletError('LOCKED', 'The wallet is locked: unlock it, then approve.');
  await touch();
  // Read again after the awaits: the window may have been closed (a rejection) meanwhile.
  const latest = await getApproval(id);
  if (!latest || latest.stage !== 'pending') return approvalView(latest ?? record);
  const working: ApprovalRecord = { ...latest, stage: 'signing' };
  await saveApproval(working);
  void run(working);
  return approvalView(working);
}

async function run(record: ApprovalRecord): Promise<void> {
  try {
    const result = await execute(record);
    await finish((await getApproval(record.id)) ?? record, { result }, 'done');
  } catch (error) {
    const kind = record.action.kind;
    if (error instanceof CosignerRefusedError && error.code === 'APPROVAL_PENDING' && (kind === 'transaction' || kind === 'typedData' || kind === 'message')) {
      // Not a failure: the co-signer keeps it for the wallet's approvers. The dapp hears -32002 with the request id.
      const pending = await heldForApproval(error, kind, { origin: record.origin, method: record.method });
      await finish((await getApproval(record.id)) ?? record, { error: pending.toBody() }, 'held');
      return;
    }
    await finish((await getApproval(record.id)) ?? record, { error: toRpcError(error) }, 'failed');
  }
}

async function execute(record: ApprovalRecord): Promise<unknown> {
  const action = record.action;
  switch (action.kind) {
    case 'connect': {
      const address = await walletAddress();
      if (!address) throw new WalletError('NOT_INITIALISED', 'The wallet has no key yet.');
      await grant(record.origin, [address]);
      await emitAccountsChanged([record.origin]);
      return record.method === 'wallet_requestPermissions' ? [accountsPermission(record.origin, address)] : [address];
    }
    case 'message': {
      const { signature, payload } = await signPayload({ kind: 'message', message: { raw: action.data } });
      return toViemSignature(payload, signature);
    }
    case 'typedData': {
      const { signature, payload } = await signPayload({ kind: 'typedData', typedData: reviveTypedData(action.typedData) });
      return toViemSignature(payload, signature);
    }
    case 'transaction': {
      const rawTransaction = await signTransaction(action.transaction);
      // Kept before sending: a worker restarted from here on sends this same transaction, never a new one.
      const sending: ApprovalRecord = { ...record, stage: 'broadcasting', rawTransaction };
      await saveApproval(sending);
      return broadcast(sending);
    }
    case 'addChain': {
      if (record.details.kind !== 'addChain') throw new WalletError('UNKNOWN_REQUEST', 'Malformed approval.');
      const chain = record.details.chain;
      const reported = await chainClient(chain).getChainId().catch((cause: unknown) => {
        throw invalidParams(`the RPC at ${chain.rpcUrl} does not answer (${cause instanceof Error ? cause.message.split('\n')[0] : 'no answer'}).`);
      });
      if (reported !== chain.id) throw invalidParams(`the RPC at ${chain.rpcUrl} reports chain ${reported}, not ${chain.id}.`);
      const settings = await readSettings();
      await writeSettings({ chains: [...settings.chains.filter((known) => known.id !== chain.id), chain], currentChainId: chain.id });
      await emitChainChanged(chain.id);
      return null;
    }
    case 'calls':
      return executeBundle(record, action);
    case 'watchAsset': {
      if (record.details.kind !== 'watchAsset') throw new WalletError('UNKNOWN_REQUEST', 'Malformed approval.');
      await addWatchedToken(record.details.token);
      return true;
    }
  }
}

/** The chain a transaction approval was made on. */
function transactionChainId(record: ApprovalRecord): number {
  if (record.action.kind !== 'transaction') throw new WalletError('UNKNOWN_REQUEST', 'Not a transaction.');
  return record.action.chainId;
}

async function broadcast(record: ApprovalRecord): Promise<`0x${string}`> {
  if (!record.rawTransaction) throw new WalletError('UNKNOWN_REQUEST', 'Nothing to send.');
  return sendRawTransaction(transactionChainId(record), record.rawTransaction);
}

async function transactionKnown(record: ApprovalRecord, hash: `0x${string}`): Promise<boolean> {
  return knownOnChain(transactionChainId(record), hash);
}

export function accountsPermission(origin: string, address: `0x${string}`) {
  return { parentCapability: 'eth_accounts', invoker: origin, date: Date.now(), caveats: [{ type: 'restrictReturnedAccounts', value: [address] }] };
}

export { toStorable } from './send-transaction.js';

/**
 * Runs once when the worker starts. Approvals caught while signing fail cleanly; a signed
 * transaction caught before it was surely sent is sent again (the same bytes: at most one lands).
 */
export async function recoverInterruptedApprovals(): Promise<void> {
  for (const record of await allApprovals()) {
    if (record.action.kind === 'calls' && (record.stage === 'signing' || record.stage === 'broadcasting')) {
      // The bundle's calls are in IndexedDB: a signed one is sent again, one caught mid-signature fails, the rest are not sent.
      const action = record.action;
      await recoverBundle(action.ref).then(
        () => finish(record, { result: { id: action.bundleId } }, 'done'),
        (error: unknown) => finish(record, { error: toRpcError(error) }, 'failed'),
      );
    } else if (record.stage === 'broadcasting' && record.rawTransaction) {
      await broadcast(record).then(
        (hash) => finish(record, { result: hash }, 'done'),
        async (error: unknown) => {
          // The first attempt may have reached the node ("already known"): the chain says whether it did.
          const hash = keccak256(record.rawTransaction!);
          if (await transactionKnown(record, hash)) return finish(record, { result: hash }, 'done');
          return finish(record, { error: toRpcError(error) }, 'failed');
        },
      );
    } else if (record.stage === 'signing' || record.stage === 'broadcasting') {
      const interrupted = new WalletError('INTERRUPTED', 'The wallet restarted while signing this request, so no signature was made and nothing was sent. Please try again.');
      await finish(record, { error: toRpcError(interrupted) }, 'failed');
    }
  }
}

