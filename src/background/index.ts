/**
 * The extension's service worker. Listeners are registered synchronously at the top, as MV3
 * requires for a worker woken by an event; state lives in IndexedDB and storage.session, so
 * a worker killed at any moment comes back where it was.
 */
import browser from 'webextension-polyfill';
import { POPUP_PAGE, PROVIDER_PORT, type PopupRequest } from './api.js';
import { allApprovals } from './approvals.js';
import { toRpcError } from './errors.js';
import { emitAccountsChanged } from './events.js';
import { decide, recoverInterruptedApprovals } from './execute.js';
import { handlePopupRequest } from './popup-api.js';
import { recoverAllBundles } from './calls/run-bundle.js';
import { acceptProviderPort } from './provider-port.js';
import { restrictSessionStorage } from './session-storage.js';
import { AUTO_LOCK_ALARM, autoLockAlarm, onLockChange, walletStatus } from './wallet.js';

browser.runtime.onConnect.addListener((port) => {
  if (port.name === PROVIDER_PORT) acceptProviderPort(port);
  else port.disconnect();
});

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender) => {
  // Only the extension's own pages; content scripts speak through their port.
  if (sender.id !== browser.runtime.id || !sender.url?.startsWith(browser.runtime.getURL(''))) return undefined;
  const request = message as PopupRequest;
  if (request?.kind !== 'popup') return undefined;
  return handlePopupRequest(request).then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error: toRpcError(error) }),
  );
});

/** Closing an approval window without deciding is a rejection. */
browser.windows.onRemoved.addListener((windowId) => {
  void allApprovals().then(async (records) => {
    for (const record of records) if (record.windowId === windowId && record.stage === 'pending') await decide(record.id, false).catch(() => undefined);
  });
});

browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === AUTO_LOCK_ALARM) void autoLockAlarm();
});

browser.runtime.onInstalled.addListener((details) => {
  if (details.reason !== 'install') return;
  void walletStatus().then((status) => {
    if (status === 'uninitialised') void browser.tabs.create({ url: browser.runtime.getURL(`${POPUP_PAGE}#/onboarding`) });
  });
});

onLockChange(() => void emitAccountsChanged());

void restrictSessionStorage().catch(() => undefined);
void recoverInterruptedApprovals()
  .catch(() => undefined)
  .then(() => recoverAllBundles())
  .catch(() => undefined);
// Reopens an unlocked wallet (and its broker connection) after a restart, once the request that woke
// the worker was answered: a dapp's first answer must not wait for a TLS handshake. A request that
// needs the wallet before then reopens it itself.
const REOPEN_DELAY_MS = 250;
setTimeout(() => void walletStatus().catch(() => undefined), REOPEN_DELAY_MS);
