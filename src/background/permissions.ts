/** Which origins are connected (may see the address), kept per origin in IndexedDB. */
import { db, type OriginPermission } from './db.js';

export async function permissionFor(origin: string): Promise<OriginPermission | undefined> {
  return (await db()).get('permissions', origin);
}

export async function grant(origin: string, accounts: `0x${string}`[]): Promise<OriginPermission> {
  const permission: OriginPermission = { origin, accounts, grantedAt: Date.now() };
  await (await db()).put('permissions', permission);
  return permission;
}

export async function revoke(origin: string): Promise<void> {
  await (await db()).delete('permissions', origin);
}

export async function connectedOrigins(): Promise<string[]> {
  return (await db()).getAllKeys('permissions');
}
