/** One handler per provider method; everything else is refused with 4200. */
import { PROVIDER_STATE_METHOD } from '../api.js';
import { unsupportedMethod } from '../errors.js';
import { ethAccounts, ethRequestAccounts, walletGetPermissions, walletRequestPermissions, walletRevokePermissions } from './accounts.js';
import { ethChainId, netVersion, walletAddEthereumChain, walletSwitchEthereumChain } from './chains.js';
import type { RpcContext, RpcHandler, RpcOutcome } from './context.js';
import { READ_ONLY_METHODS, passThrough } from './passthrough.js';
import { providerState } from './provider-state.js';
import { personalSign, sendTransaction, signTypedDataV4 } from './signing.js';
import { personalEcRecover } from './recover.js';
import { walletGetCallsStatus, walletGetCapabilities, walletSendCalls, walletShowCallsStatus } from './calls.js';
import { walletWatchAsset } from './assets.js';

const HANDLERS: Record<string, RpcHandler> = {
  [PROVIDER_STATE_METHOD]: providerState,
  eth_accounts: ethAccounts,
  eth_requestAccounts: ethRequestAccounts,
  eth_chainId: ethChainId,
  net_version: netVersion,
  personal_sign: personalSign,
  personal_ecRecover: personalEcRecover,
  eth_signTypedData_v4: signTypedDataV4,
  eth_sendTransaction: sendTransaction,
  wallet_switchEthereumChain: walletSwitchEthereumChain,
  wallet_addEthereumChain: walletAddEthereumChain,
  wallet_requestPermissions: walletRequestPermissions,
  wallet_getPermissions: walletGetPermissions,
  wallet_revokePermissions: walletRevokePermissions,
  wallet_getCapabilities: walletGetCapabilities,
  wallet_sendCalls: walletSendCalls,
  wallet_getCallsStatus: walletGetCallsStatus,
  wallet_showCallsStatus: walletShowCallsStatus,
  wallet_watchAsset: walletWatchAsset,
};

const REFUSED: Record<string, string> = {
  eth_sign: 'refused: it signs an arbitrary hash the user cannot read. Use personal_sign or eth_signTypedData_v4.',
  eth_signTypedData: 'use eth_signTypedData_v4.',
  eth_signTypedData_v1: 'use eth_signTypedData_v4.',
  eth_signTypedData_v3: 'use eth_signTypedData_v4.',
  eth_signTransaction: 'Tandem signs and sends in one step: use eth_sendTransaction.',
};

export function route(context: RpcContext): Promise<RpcOutcome> {
  const handler = HANDLERS[context.method];
  if (handler) return handler(context);
  const refusal = REFUSED[context.method];
  if (refusal) throw unsupportedMethod(context.method, refusal);
  if (READ_ONLY_METHODS.has(context.method)) return passThrough(context);
  throw unsupportedMethod(context.method);
}
