/**
 * What the worker keeps in chrome.storage.session: memory only, gone when the browser exits, but
 * it survives a service-worker restart. The vault key sits here while unlocked (and nothing else
 * secret), with its last-activity time; approvals in flight and the tabs with a provider sit here so
 * a restarted worker picks them up.
 */
import browser from 'webextension-polyfill';

export async function sessionGet(key: string): Promise<unknown> {
  const stored = await browser.storage.session.get(key);
  return stored[key];
}

export async function sessionSet(values: Record<string, unknown>): Promise<void> {
  await browser.storage.session.set(values);
}

export async function sessionRemove(keys: string | string[]): Promise<void> {
  await browser.storage.session.remove(keys);
}

/** Only extension pages and the worker may read session storage, never content scripts. */
export async function restrictSessionStorage(): Promise<void> {
  const session = browser.storage.session as unknown as { setAccessLevel?: (options: { accessLevel: string }) => Promise<void> };
  await session.setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' });
}
