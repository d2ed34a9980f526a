/** tandem_providerState: what the page's provider needs when it starts. */
import { toHex } from 'viem';
import type { ProviderState } from '../api.js';
import { accountsFor } from '../events.js';
import { currentChain, readSettings } from '../settings.js';
import { walletStatus } from '../wallet.js';
import type { RpcHandler } from './context.js';

export const providerState: RpcHandler = async ({ origin }) => {
  const [settings, accounts, status] = await Promise.all([readSettings(), accountsFor(origin), walletStatus()]);
  const chainId = currentChain(settings).id;
  const state: ProviderState = { chainId: toHex(chainId), networkVersion: String(chainId), accounts, isUnlocked: status === 'unlocked' };
  return { result: state };
};
