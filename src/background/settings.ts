/**
 * Wallet settings (co-signer URL, chains, current chain, auto-lock), in IndexedDB. Defaults come
 * from the build (TANDEM_COSIGNER_URL, TANDEM_CHAINS) and point at the local stack.
 */
import type { ChainConfig } from './api.js';
import { db, type Settings } from './db.js';
import { WalletError } from './errors.js';

declare const __TANDEM_BUILD_DEFAULTS__: { cosignerUrl?: string; chains?: ChainConfig[] } | undefined;

export const LOCAL_CHAIN: ChainConfig = {
  id: 31337,
  name: 'Hardhat (local)',
  rpcUrl: 'http://127.0.0.1:8545',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
};

export function defaultSettings(): Settings {
  const build = typeof __TANDEM_BUILD_DEFAULTS__ === 'undefined' ? {} : __TANDEM_BUILD_DEFAULTS__;
  const chains = build.chains?.length ? build.chains : [LOCAL_CHAIN];
  return {
    cosignerUrl: build.cosignerUrl ?? 'https://127.0.0.1:8884',
    chains,
    currentChainId: chains[0]!.id,
    autoLockMinutes: 15,
  };
}

export async function readSettings(): Promise<Settings> {
  return (await (await db()).get('settings', 'settings')) ?? defaultSettings();
}

export async function writeSettings(change: Partial<Settings>): Promise<Settings> {
  const next = { ...(await readSettings()), ...change };
  if (!Number.isInteger(next.autoLockMinutes) || next.autoLockMinutes < 1 || next.autoLockMinutes > 24 * 60) {
    throw new WalletError('BAD_SETTING', 'Auto-lock must be between 1 minute and 24 hours.');
  }
  if (!next.chains.some((chain) => chain.id === next.currentChainId)) throw new WalletError('BAD_SETTING', `Chain ${next.currentChainId} is not configured.`);
  await (await db()).put('settings', next, 'settings');
  return next;
}

export function currentChain(settings: Settings): ChainConfig {
  return settings.chains.find((chain) => chain.id === settings.currentChainId) ?? settings.chains[0]!;
}

/** https:// only, except on this machine (the local stack). */
export function checkCosignerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new WalletError('BAD_SETTING', `"${value}" is not a URL. Use https://host:port.`);
  }
  if (url.protocol !== 'https:') throw new WalletError('BAD_SETTING', 'The co-signer URL must start with https://.');
  return url.origin;
}
