/** Provider events to the tabs: chainChanged to all, accountsChanged to each origin with what it may see. */
import { toHex } from 'viem';
import { broadcast } from './ports.js';
import { permissionFor } from './permissions.js';
import { walletAddress, walletStatus } from './wallet.js';

/** The accounts an origin may see now: none unless connected and unlocked. */
export async function accountsFor(origin: string): Promise<`0x${string}`[]> {
  const permission = await permissionFor(origin);
  if (!permission || (await walletStatus()) !== 'unlocked') return [];
  const address = await walletAddress();
  return address && permission.accounts.some((account) => account.toLowerCase() === address.toLowerCase()) ? [address] : [];
}

export function emitChainChanged(chainId: number): Promise<void> {
  return broadcast('chainChanged', () => toHex(chainId));
}

/** accountsChanged to every tab of the given origins (all when omitted). */
export function emitAccountsChanged(origins?: string[]): Promise<void> {
  return broadcast('accountsChanged', async (origin) => (origins && !origins.includes(origin) ? undefined : accountsFor(origin)));
}
