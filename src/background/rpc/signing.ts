/** personal_sign, eth_signTypedData_v4 and eth_sendTransaction: each is decoded, then waits for the user. */
import type { Address } from 'viem';
import { openApproval } from '../approvals.js';
import { chainClient } from '../chain-client.js';
import { unauthorized } from '../errors.js';
import { accountsFor } from '../events.js';
import { toStorable } from '../execute.js';
import { describeMessage } from '../requests/describe-message.js';
import { describeTypedData } from '../requests/describe-typed-data.js';
import { parsePersonalSign, parseTransactionRequest, parseTypedDataV4 } from '../requests/params.js';
import { prepareTransaction } from '../requests/prepare-transaction.js';
import { currentChain, readSettings } from '../settings.js';
import { DEFERRED, type RpcContext, type RpcHandler } from './context.js';

/** The origin must be connected, and may only ask for the account it was given. */
export async function authorisedAccount(origin: string, requested: Address): Promise<Address> {
  const accounts = await accountsFor(origin);
  const account = accounts.find((known) => known.toLowerCase() === requested.toLowerCase());
  if (!accounts.length) throw unauthorized();
  if (!account) throw unauthorized(`This site is not authorised for account ${requested}.`);
  return account;
}

function ask(context: RpcContext, approval: Omit<Parameters<typeof openApproval>[0], 'requestKey' | 'origin' | 'method'>): Promise<typeof DEFERRED> {
  return openApproval({ requestKey: context.requestKey, origin: context.origin, method: context.method, ...approval }).then(() => DEFERRED);
}

export const personalSign: RpcHandler = async (context) => {
  const { data, address } = parsePersonalSign(context.params);
  const account = await authorisedAccount(context.origin, address);
  const { details, warnings } = describeMessage(account, data);
  return ask(context, { details, warnings, action: { kind: 'message', data } });
};

export const signTypedDataV4: RpcHandler = async (context) => {
  const { address, typedData } = parseTypedDataV4(context.params);
  const account = await authorisedAccount(context.origin, address);
  const { details, warnings } = describeTypedData(account, typedData, currentChain(await readSettings()).id);
  return ask(context, { details, warnings, action: { kind: 'typedData', typedData: toStorable(typedData) } });
};

export const sendTransaction: RpcHandler = async (context) => {
  const request = parseTransactionRequest(context.params);
  const account = await authorisedAccount(context.origin, request.from);
  const chain = currentChain(await readSettings());
  // The popup shows, and the user approves, exactly the transaction that will be signed.
  const { transaction, details, warnings } = await prepareTransaction({ client: chainClient(chain), chain, from: account, request });
  return ask(context, { details, warnings, action: { kind: 'transaction', transaction: toStorable(transaction), chainId: chain.id } });
};
