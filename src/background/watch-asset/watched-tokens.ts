/** The ERC-20s the user watches (wallet_watchAsset), per chain, in IndexedDB; and their balances for the overview. */
import { erc20Abi, formatUnits } from 'viem';
import type { TokenBalance, WatchedToken } from '../api.js';
import { chainClient } from '../chain-client.js';
import { db } from '../db.js';
import { currentChain, readSettings } from '../settings.js';

const keyOf = (chainId: number, address: string) => `${chainId}:${address.toLowerCase()}`;

export async function watchedToken(chainId: number, address: string): Promise<WatchedToken | undefined> {
  const stored = await (await db()).get('watchedTokens', keyOf(chainId, address));
  if (!stored) return undefined;
  const { key: _key, addedAt: _addedAt, ...token } = stored;
  return token;
}

export async function addWatchedToken(token: WatchedToken): Promise<void> {
  await (await db()).put('watchedTokens', { ...token, key: keyOf(token.chainId, token.address), addedAt: Date.now() });
}

/** The current chain's watched tokens with the wallet's balance of each (left out when the chain does not answer). */
export async function tokenBalances(owner: `0x${string}` | undefined): Promise<TokenBalance[]> {
  const chain = currentChain(await readSettings());
  const tokens = (await (await db()).getAll('watchedTokens')).filter((token) => token.chainId === chain.id).sort((a, b) => a.addedAt - b.addedAt);
  const client = chainClient(chain);
  return Promise.all(
    tokens.map(async ({ key: _key, addedAt: _addedAt, ...token }) => {
      if (!owner) return token;
      const balance = await client.readContract({ address: token.address, abi: erc20Abi, functionName: 'balanceOf', args: [owner] }).catch(() => undefined);
      return balance === undefined ? token : { ...token, balance: balance.toString(), balanceFormatted: formatUnits(balance, token.decimals) };
    }),
  );
}
