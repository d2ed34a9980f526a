/** eth_chainId, net_version, wallet_switchEthereumChain, wallet_addEthereumChain. */
import { toHex } from 'viem';
import { openApproval } from '../approvals.js';
import { unauthorized, unknownChain } from '../errors.js';
import { permissionFor } from '../permissions.js';
import { emitChainChanged } from '../events.js';
import { parseAddChain, parseSwitchChain } from '../requests/params.js';
import { currentChain, readSettings, writeSettings } from '../settings.js';
import { DEFERRED, type RpcHandler } from './context.js';

export const ethChainId: RpcHandler = async () => ({ result: toHex(currentChain(await readSettings()).id) });

export const netVersion: RpcHandler = async () => ({ result: String(currentChain(await readSettings()).id) });

/**
 * Switching between chains the user already has needs no popup, but only a connected site may do it:
 * the chain is shared by every site, and an unconnected one must not steer the next transaction of another.
 */
export const walletSwitchEthereumChain: RpcHandler = async ({ origin, params }) => {
  const { chainId } = parseSwitchChain(params);
  if (!(await permissionFor(origin))) throw unauthorized('Connect to Tandem (eth_requestAccounts) before switching chains.');
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
  if (!(await permissionFor(context.origin))) throw unauthorized('Connect to Tandem (eth_requestAccounts) before adding chains.');
  const settings = await readSettings();
  const known = settings.chains.find((existing) => existing.id === chain.id);
  // A chain the user has keeps the user's RPC: a site cannot swap in its own node (which would then
  // decide token decimals, simulations and nonces shown in the popup). Adding it again only switches.
  if (known) {
    if (settings.currentChainId !== chain.id) {
      await writeSettings({ currentChainId: chain.id });
      await emitChainChanged(chain.id);
    }
    return { result: null };
  }
  await openApproval({ requestKey: context.requestKey, origin: context.origin, method: context.method, details: { kind: 'addChain', chain }, warnings: [], action: { kind: 'addChain' } });
  return DEFERRED;
};
