/**
 * EIP-747 wallet_watchAsset for ERC-20 tokens. The params are checked, then the token itself: it must be a
 * contract on the current chain, and the decimals the site gives must be the ones the contract reports (a
 * wrong number would show every balance wrong). A symbol that differs from the contract's is shown as a
 * warning. The user approves in a popup; the answer is `true`, or 4001 when rejected (as MetaMask does).
 */
import { erc20Abi } from 'viem';
import type { Warning } from '../api.js';
import { openApproval } from '../approvals.js';
import { chainClient } from '../chain-client.js';
import { invalidParams } from '../errors.js';
import { readTokenInfo } from '../requests/erc20-call.js';
import { RequestError } from '../requests/errors.js';
import { currentChain, readSettings } from '../settings.js';
import { parseWatchAsset } from '../watch-asset/params.js';
import { watchedToken } from '../watch-asset/watched-tokens.js';
import { DEFERRED, type RpcHandler } from './context.js';

export const walletWatchAsset: RpcHandler = async (context) => {
  const input = parseWatchAsset(context.params);
  const chain = currentChain(await readSettings());
  const client = chainClient(chain);
  const code = await client.getCode({ address: input.address }).catch((cause: unknown) => {
    throw new RequestError('CHAIN_UNAVAILABLE', `Could not read from ${chain.name} (${chain.rpcUrl}). Check the network and try again.`, { cause });
  });
  if (!code || code === '0x') throw invalidParams(`wallet_watchAsset options.address ${input.address} is not a contract on ${chain.name}.`);
  const onChain = await readTokenInfo(client, input.address);
  if (onChain.decimals !== undefined && onChain.decimals !== input.decimals) {
    throw invalidParams(`wallet_watchAsset options.decimals is ${input.decimals}, but the token at ${input.address} reports ${onChain.decimals}.`);
  }
  // A contract that is no ERC-20 at all: balanceOf must answer.
  await client.readContract({ address: input.address, abi: erc20Abi, functionName: 'balanceOf', args: [input.address] }).catch(() => {
    throw invalidParams(`wallet_watchAsset options.address ${input.address} does not answer balanceOf: it is not an ERC-20 token.`);
  });

  const known = await watchedToken(chain.id, input.address);
  if (known && known.symbol === input.symbol && known.decimals === input.decimals) return { result: true };

  const warnings: Warning[] = [];
  if (onChain.symbol !== undefined && onChain.symbol !== input.symbol) {
    warnings.push({ code: 'SYMBOL_MISMATCH', message: `The site calls this token "${input.symbol}", but the contract says its symbol is "${onChain.symbol}".` });
  }
  const token = { chainId: chain.id, address: input.address, symbol: input.symbol, decimals: input.decimals, ...(input.image ? { image: input.image } : {}) };
  await openApproval({ requestKey: context.requestKey, origin: context.origin, method: context.method, details: { kind: 'watchAsset', chain: { id: chain.id, name: chain.name }, token }, warnings, action: { kind: 'watchAsset' } });
  return DEFERRED;
};
