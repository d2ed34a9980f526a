/**
 * This browser's approver record at rest: sealed under the vault key (the wallet password), bound
 * to this vault, in IndexedDB. Its identity secret is never written in the clear, and never logged.
 */
import type { ApproverRecord } from '../../channel/approver-session.js';
import { db, type SealedApprover } from '../db.js';
import type { VaultStore } from '../vault.js';

const label = (approverId: string) => `approver|${approverId}`;

export async function readSealedApprover(): Promise<SealedApprover | undefined> {
  return (await db()).get('approver', 'approver');
}

export async function sealApprover(store: VaultStore, record: ApproverRecord, enrolledAt?: number): Promise<void> {
  const box = await store.sealCompanion(label(record.approverId), record);
  const previous = await readSealedApprover();
  const sealed: SealedApprover = { version: 1, approverId: record.approverId, name: record.name, cosignerUrl: record.cosignerUrl, enrolledAt: enrolledAt ?? previous?.enrolledAt ?? Date.now(), box };
  const tx = (await db()).transaction('approver', 'readwrite', { durability: 'strict' });
  await Promise.all([tx.store.put(sealed, 'approver'), tx.done]);
}

export async function openApprover(store: VaultStore, sealed: SealedApprover): Promise<ApproverRecord> {
  const record = await store.openCompanion<ApproverRecord>(label(sealed.approverId), sealed.box);
  return record;
}
