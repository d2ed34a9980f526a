/**
 * EIP-5792: wallet_getCapabilities, wallet_sendCalls, wallet_getCallsStatus, wallet_showCallsStatus.
 * Tandem is an EOA without EIP-7702 delegation: it runs a bundle as sequential transactions, never
 * atomically, and says so (capability `atomic: { status: 'unsupported' }`, `atomic: false` in statuses).
 */
import { formatUnits, toHex } from 'viem';
import browser from 'webextension-polyfill';
import { POPUP_PAGE, type ApprovalDetails, type Warning } from '../api.js';
import { allApprovals, openApproval, openPopupWindow } from '../approvals.js';
import { chainClient } from '../chain-client.js';
import { unauthorized } from '../errors.js';
import { RequestError } from '../requests/errors.js';
import { accountsFor } from '../events.js';
import { findBundle } from '../calls/bundle-record.js';
import { atomicityNotSupported, bundleTooLarge, duplicateId, unknownBundle, unsupportedCapability, unsupportedChain } from '../calls/errors.js';
import { MAX_CALLS, newBundleId, parseCallsId, parseGetCapabilities, parseSendCalls } from '../calls/params.js';
import { callsStatus } from '../calls/run-bundle.js';
import { feeCapOf, prepareTransaction } from '../requests/prepare-transaction.js';
import { readSettings } from '../settings.js';
import { toStorable } from '../send-transaction.js';
import { DEFERRED, type RpcHandler } from './context.js';
import { authorisedAccount } from './signing.js';

/** The capabilities of every configured chain (or of the ones asked for that Tandem has): only `atomic`, unsupported. */
export const walletGetCapabilities: RpcHandler = async ({ origin, params }) => {
  const { address, chainIds } = parseGetCapabilities(params);
  await authorisedAccount(origin, address);
  const configured = (await readSettings()).chains.map((chain) => chain.id);
  const chains = chainIds ? configured.filter((id) => chainIds.includes(id)) : configured;
  return { result: Object.fromEntries(chains.map((id) => [toHex(id), { atomic: { status: 'unsupported' } }])) };
};

export const walletSendCalls: RpcHandler = async (context) => {
  const input = parseSendCalls(context.params);
  const accounts = await accountsFor(context.origin);
  if (!accounts.length) throw unauthorized();
  const account = await authorisedAccount(context.origin, input.from ?? accounts[0]!);
  const chain = (await readSettings()).chains.find((known) => known.id === input.chainId);
  if (!chain) throw unsupportedChain(input.chainIdHex);
  if (input.atomicRequired) throw atomicityNotSupported();
  if (input.requiredCapabilities.length) throw unsupportedCapability(input.requiredCapabilities);
  if (input.calls.length > MAX_CALLS) throw bundleTooLarge(input.calls.length, MAX_CALLS);
  const bundleId = input.id ?? newBundleId();
  if (input.id !== undefined && (await idTaken(context.origin, input.id))) throw duplicateId(input.id);

  const client = chainClient(chain);
  const [firstNonce, balance] = await Promise.all([
    client.getTransactionCount({ address: account, blockTag: 'pending' }),
    client.getBalance({ address: account }),
  ]).catch((cause: unknown) => {
    throw new RequestError('CHAIN_UNAVAILABLE', `Could not read from ${chain.name} (${chain.rpcUrl}). Check the network and try again.`, { cause });
  });
  // One after the other, with consecutive nonces: the page shows exactly what will be signed.
  const prepared = await Promise.all(
    input.calls.map((call, index) => prepareTransaction({ client, chain, from: account, request: { ...call, from: account, nonce: firstNonce + index } })),
  );
  const warnings: Warning[] = prepared.flatMap(({ warnings }, index) => warnings.map((warning) => ({ ...warning, message: `Call ${index + 1}: ${warning.message}` })));
  const totalValue = prepared.reduce((sum, { transaction }) => sum + transaction.value, 0n);
  const totalFee = prepared.reduce((sum, { transaction }) => sum + transaction.gas * feeCapOf(transaction), 0n);
  const native = chain.nativeCurrency;
  const format = (wei: bigint) => `${formatUnits(wei, native.decimals)} ${native.symbol}`;
  if (balance < totalValue + totalFee) {
    warnings.unshift({ code: 'INSUFFICIENT_FUNDS', message: `These calls together need up to ${format(totalValue + totalFee)} (values plus maximum fees) but the account holds ${format(balance)}: the later ones would fail.` });
  }
  const details: ApprovalDetails = {
    kind: 'calls',
    from: account,
    chain: { id: chain.id, name: chain.name, symbol: native.symbol },
    bundleId,
    calls: prepared.map(({ details: call }) => call),
    totalValueFormatted: format(totalValue),
    totalMaxFeeFormatted: format(totalFee),
  };
  await openApproval({
    requestKey: context.requestKey,
    origin: context.origin,
    method: context.method,
    details,
    warnings,
    action: { kind: 'calls', ref: crypto.randomUUID(), bundleId, chainId: chain.id, transactions: prepared.map(({ transaction }) => toStorable(transaction)) },
  });
  return DEFERRED;
};

/** An id this site already used: a stored bundle, or one waiting for the user. */
async function idTaken(origin: string, id: string): Promise<boolean> {
  if (await findBundle(origin, id)) return true;
  return (await allApprovals()).some((record) => record.origin === origin && record.action.kind === 'calls' && record.action.bundleId === id && record.stage !== 'rejected' && record.stage !== 'failed');
}

export const walletGetCallsStatus: RpcHandler = async ({ origin, method, params }) => ({ result: await callsStatus(origin, parseCallsId(method, params)) });

/** Opens the bundle's page in a popup window: its calls, their states and transaction hashes. */
export const walletShowCallsStatus: RpcHandler = async ({ origin, method, params }) => {
  const bundle = await findBundle(origin, parseCallsId(method, params));
  if (!bundle) throw unknownBundle();
  await openPopupWindow(browser.runtime.getURL(`${POPUP_PAGE}#/calls/${encodeURIComponent(bundle.ref)}`));
  return { result: null };
};
