/** eth_accounts, eth_requestAccounts and the EIP-2255 permission methods. */
import { openApproval } from '../approvals.js';
import { accountsFor, emitAccountsChanged } from '../events.js';
import { accountsPermission } from '../execute.js';
import { permissionFor, revoke } from '../permissions.js';
import { parsePermissionRequest } from '../requests/params.js';
import { walletStatus } from '../wallet.js';
import { DEFERRED, type RpcContext, type RpcHandler } from './context.js';
import { invalidParams, unauthorized } from '../errors.js';
import browser from 'webextension-polyfill';
import { POPUP_PAGE } from '../api.js';

export const ethAccounts: RpcHandler = async ({ origin }) => ({ result: await accountsFor(origin) });

/** Connected and unlocked: the accounts at once. Otherwise a popup (it unlocks first when needed). */
export const ethRequestAccounts: RpcHandler = async (context) => {
  const accounts = await accountsFor(context.origin);
  if (accounts.length) return { result: accounts };
  return askToConnect(context);
};

const ONBOARDING_TAB_GAP_MS = 30_000;
let lastOnboardingTabAt = 0;

async function askToConnect(context: RpcContext): Promise<typeof DEFERRED> {
  const status = await walletStatus();
  if (status === 'uninitialised' || status === 'restoring') {
    // One onboarding tab, however many times a site asks.
    if (Date.now() - lastOnboardingTabAt > ONBOARDING_TAB_GAP_MS) {
      lastOnboardingTabAt = Date.now();
      await browser.tabs.create({ url: browser.runtime.getURL(`${POPUP_PAGE}#/onboarding`) });
    }
    throw unauthorized('Tandem has no wallet yet: create one in the tab that just opened, then connect again.');
  }
  await openApproval({ requestKey: context.requestKey, origin: context.origin, method: context.method, details: { kind: 'connect' }, warnings: [], action: { kind: 'connect' } });
  return DEFERRED;
}

export const walletRequestPermissions: RpcHandler = async (context) => {
  parsePermissionRequest(context.params);
  const accounts = await accountsFor(context.origin);
  if (accounts[0]) return { result: [accountsPermission(context.origin, accounts[0])] };
  return askToConnect(context);
};

/** Like eth_accounts: nothing while locked. */
export const walletGetPermissions: RpcHandler = async ({ origin }) => {
  const permission = await permissionFor(origin);
  const [address] = await accountsFor(origin);
  return { result: permission && address ? [{ ...accountsPermission(origin, address), date: permission.grantedAt }] : [] };
};

export const walletRevokePermissions: RpcHandler = async ({ origin, params }) => {
  if (!Array.isArray(params) || params.length !== 1 || typeof params[0] !== 'object' || params[0] === null || !('eth_accounts' in params[0])) {
    throw invalidParams('wallet_revokePermissions expects [{ eth_accounts: {} }].');
  }
  await revoke(origin);
  await emitAccountsChanged([origin]);
  return { result: null };
};
