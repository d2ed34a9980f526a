/** What describing a held request reads from this browser: its chains, and a client for each. */
import { chainClient } from '../chain-client.js';
import { currentChain, readSettings } from '../settings.js';
import type { DescribeContext } from './describe-held.js';

export async function describeContext(): Promise<DescribeContext> {
  const settings = await readSettings();
  return { chains: settings.chains, currentChainId: currentChain(settings).id, clientFor: chainClient };
}
