import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DurabilityError } from './errors.js';
import { openSqliteStore } from './database.js';
import { enrollActiveWallet, newMasterKey } from './test-helpers.js';
import { WalSync } from './wal-sync.js';

/** A flush the test ends by hand, counting how many began. */
function manualFlush() {
  const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const flush = () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  return { flush, pending };
}

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('WalSync', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('makes a commit that arrives during a flush wait for the next flush, shared by everyone who arrived meanwhile', async () => {
    const { flush, pending } = manualFlush();
    const sync = new WalSync(flush);
    const first = sync.durable();
    expect(pending).toHaveLength(1);
    const second = sync.durable();
    const third = sync.durable();
    expect(pending).toHaveLength(1);
    pending[0]!.resolve();
    await first;
    expect(await settled(second)).toBe(false);
    expect(pending).toHaveLength(2);
    pending[1]!.resolve();
    await Promise.all([second, third]);
    expect(pending).toHaveLength(2);
  });

  it('starts a fresh flush once none is running', async () => {
    const { flush, pending } = manualFlush();
    const sync = new WalSync(flush);
    const first = sync.durable();
    pending[0]!.resolve();
    await first;
    const later = sync.durable();
    expect(pending).toHaveLength(2);
    pending[1]!.resolve();
    await later;
  });

  it('rejects with a DurabilityError when the flush fails, and keeps rejecting: a later fsync proves nothing about lost frames', async () => {
    const { flush, pending } = manualFlush();
    const sync = new WalSync(flush);
    const failing = sync.durable();
    const waiting = sync.durable();
    pending[0]!.reject(new Error('EIO: i/o error, fsync'));
    await expect(failing).rejects.toBeInstanceOf(DurabilityError);
    await expect(failing).rejects.toMatchObject({ code: 'STORE_NOT_DURABLE' });
    await expect(waiting).rejects.toBeInstanceOf(DurabilityError);
    await expect(sync.durable()).rejects.toBeInstanceOf(DurabilityError);
    expect(pending).toHaveLength(1);
  });

  it('flushes a real WAL file; a missing WAL is an error while the database is open, and fine once it was closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-walsync-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'db.sqlite-wal'), 'frames');
    await expect(WalSync.forDatabase(join(dir, 'db.sqlite')).durable()).resolves.toBeUndefined();
    const missing = WalSync.forDatabase(join(dir, 'gone.sqlite'));
    await expect(missing.durable()).rejects.toMatchObject({ code: 'STORE_NOT_DURABLE' });
    const closed = WalSync.forDatabase(join(dir, 'closed.sqlite'));
    closed.close();
    await expect(closed.durable()).resolves.toBeUndefined();
  });

  it('opens the WAL once for every flush and lets it go at close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-walsync-fd-'));
    dirs.push(dir);
    const wal = join(dir, 'db.sqlite-wal');
    writeFileSync(wal, 'frames');
    const openOnWal = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === wal;
      } catch {
        return false; // the directory's own descriptor, gone by now
      }
    }).length;
    const sync = WalSync.forDatabase(join(dir, 'db.sqlite'));
    for (let i = 0; i < 3; i++) await sync.durable();
    expect(openOnWal()).toBe(1);
    sync.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(openOnWal()).toBe(0);
    await expect(sync.durable()).resolves.toBeUndefined();
    expect(openOnWal()).toBe(0);
  });

  it('finds the WAL of a database opened through a symbolic link, where SQLite puts it beside the real file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-walsync-link-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'real'));
    mkdirSync(join(dir, 'linked'));
    const masterKey = newMasterKey();
    openSqliteStore({ path: join(dir, 'real', 'cosigner.sqlite'), masterKey }).close();
    symlinkSync(join(dir, 'real', 'cosigner.sqlite'), join(dir, 'linked', 'cosigner.sqlite'));
    const linked = openSqliteStore({ path: join(dir, 'linked', 'cosigner.sqlite'), masterKey });
    try {
      const { walletId } = await enrollActiveWallet(linked);
      await expect(linked.recordSignature(walletId, { summary: { kind: 'message' } })).resolves.toBeUndefined();
    } finally {
      linked.close();
    }
  });
});
