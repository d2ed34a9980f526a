/** eth_chainId, net_version, wallet_switchEthereumChain, wallet_addEthereumChain. */
import { toHex } from 'viem';
import { openApproval } from '../approvals.js';
import { unknownChain } from '../errors.js';
import { emitChainChanged } from '../events.js';
import { parseAddChain, parseSwitchChain } from '../requests/params.js';
import { currentChain, readSettings, writeSettings } from '../settings.js';
import { DEFERRED, type RpcHandler } from './context.js';

export const ethChainId: RpcHandler = async () => ({ result: toHex(currentChain(await readSettings()).id) });

export const netVersion: RpcHandler = async () => ({ result: String(currentChain(await readSettings()).id) });

/** Switching between chains the user already has needs no popup: it reveals nothing and signs nothing. */
export const walletSwitchEthereumChain: RpcHandler = async ({ params }) => {
  const { chainId } = parseSwitchChain(params);
  const settings = await readSettings();
  if (!settings.chains.some((chain) => chain.id === chainId)) throw unknownChain(toHex(chainId));
  if (settings.currentChainId !== chainId) {
    await writeSettings({ currentChainId: chainId });
    await emitChainChanged(chainId);
  }
  return { result: null };
};

export const walletAddEthereumChain: RpcHandler = async (context) => {
  const chain = parseAddChain(context.params);
  const settings = await readSettings();
  const known = settings.chains.find((existing) => existing.id === chain.id);
  if (known && known.rpcUrl === chain.rpcUrl) {
    if (settings.currentChainId !== chain.id) {
      await writeSettings({ currentChainId: chain.id });
      await emitChainChanged(chain.id);
    }
    return { result: null };
  }
  await openApproval({ requestKey: context.requestKey, origin: context.origin, method: context.method, details: { kind: 'addChain', chain }, warnings: [], action: { kind: 'addChain' } });
  return DEFERRED;
};
