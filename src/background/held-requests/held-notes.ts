/** This browser's notes on its wallet's held requests (IndexedDB): which site asked, and a transaction it sent itself. */
import { db, type HeldRequestNote } from '../db.js';

/** Notes older than this are dropped when a new one is written. */
const KEEP_NOTES_MS = 90 * 24 * 60 * 60_000;

export async function heldNotes(): Promise<Map<string, HeldRequestNote>> {
  const notes = await (await db()).getAll('heldRequests');
  return new Map(notes.map((note) => [note.requestId, note]));
}

export async function heldNote(requestId: string): Promise<HeldRequestNote | undefined> {
  return (await db()).get('heldRequests', requestId);
}

export async function writeHeldNote(requestId: string, change: Partial<Omit<HeldRequestNote, 'requestId'>>): Promise<void> {
  const database = await db();
  const tx = database.transaction('heldRequests', 'readwrite');
  const existing = await tx.store.get(requestId);
  await tx.store.put({ heldAt: Date.now(), ...existing, ...change, requestId });
  const cutoff = Date.now() - KEEP_NOTES_MS;
  for (const note of await tx.store.getAll()) if (note.heldAt < cutoff) await tx.store.delete(note.requestId);
  await tx.done;
}
