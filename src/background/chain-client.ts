/** One viem public client per configured chain RPC. */
import { createPublicClient, http, type PublicClient } from 'viem';
import type { ChainConfig } from './api.js';

const clients = new Map<string, PublicClient>();

export function chainClient(chain: ChainConfig): PublicClient {
  const key = `${chain.id}|${chain.rpcUrl}`;
  let client = clients.get(key);
  if (!client) {
    client = createPublicClient({
      chain: { id: chain.id, name: chain.name, nativeCurrency: chain.nativeCurrency, rpcUrls: { default: { http: [chain.rpcUrl] } } },
      transport: http(chain.rpcUrl, { timeout: 15_000, retryCount: 1 }),
    });
    clients.set(key, client);
  }
  return client;
}
