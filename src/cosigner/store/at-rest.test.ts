import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databasePath, openSqliteStore, type SqliteCosignerStore } from './database.js';
import { EnvelopeError } from './errors.js';
import type { MasterKey } from './master-key.js';
import { GROUP_PUBLIC_KEY, newId, newIdentityKey, newMasterKey, tempDir, WALLET_ADDRESS } from './test-helpers.js';

const SHARE_MARKER = 'PLAINTEXT-SHARE-MARKER-7f3a9c';
const PRESIG_MARKER = 'PLAINTEXT-PRESIG-MARKER-c41e07';

let dir: ReturnType<typeof tempDir>;
let masterKey: MasterKey;
let store: SqliteCosignerStore;

beforeEach(() => {
  dir = tempDir();
  masterKey = newMasterKey();
  store = openSqliteStore({ path: databasePath(dir.path), masterKey });
});
afterEach(() => {
  store.close();
  dir.remove();
});

/** Every byte the database left on disk: the main file, the WAL and the shared-memory index. */
function bytesOnDisk(): Buffer {
  return Buffer.concat(readdirSync(dir.path).map((name) => readFileSync(join(dir.path, name))));
}

function fill(): string {
  const walletId = newId();
  store.enroll({ walletId, deviceId: newId(), identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2, 3] });
  store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: `{"secretShare":"${SHARE_MARKER}"}`, generation: 0 });
  store.putPresignature({ walletId, presignatureId: 'p1', state: `{"k":"${PRESIG_MARKER}"}` });
  return walletId;
}

describe('encryption at rest', () => {
  it('writes no plaintext of a share or presignature state to the database, its WAL or its index', () => {
    const walletId = fill();
    // While open, the writes sit in the WAL.
    let disk = bytesOnDisk();
    expect(disk.length).toBeGreaterThan(0);
    expect(disk.includes(walletId)).toBe(true); // the check reads the files that hold the data
    expect(disk.includes(SHARE_MARKER)).toBe(false);
    expect(disk.includes(PRESIG_MARKER)).toBe(false);
    // After close, everything is checkpointed into the main file.
    store.close();
    disk = bytesOnDisk();
    expect(disk.includes(walletId)).toBe(true);
    expect(disk.includes(SHARE_MARKER)).toBe(false);
    expect(disk.includes(PRESIG_MARKER)).toBe(false);
    expect(disk.includes(Buffer.from(masterKey.bytes))).toBe(false);
    expect(disk.includes(Buffer.from(masterKey.bytes).toString('hex'))).toBe(false);
    store = openSqliteStore({ path: databasePath(dir.path), masterKey });
    expect(store.loadShare(walletId)).toContain(SHARE_MARKER);
  });

  it('cannot be read back with another master key', () => {
    const walletId = fill();
    store.close();
    expect(() => openSqliteStore({ path: databasePath(dir.path), masterKey: newMasterKey() })).toThrow(/another master key/);
    store = openSqliteStore({ path: databasePath(dir.path), masterKey });
    expect(store.consumePresignature(walletId, 'p1')).toContain(PRESIG_MARKER);
  });

  it("refuses a sealed share or presignature state copied into another row", () => {
    const a = fill();
    const b = fill();
    store.putPresignature({ walletId: a, presignatureId: 'p2', state: 'other' });
    const raw = new Database(databasePath(dir.path));
    raw.prepare('UPDATE shares SET sealed = (SELECT sealed FROM shares WHERE wallet_id = ?) WHERE wallet_id = ?').run(a, b);
    raw.prepare("UPDATE presignatures SET sealed_state = (SELECT sealed_state FROM presignatures WHERE wallet_id = ? AND presignature_id = 'p1') WHERE wallet_id = ? AND presignature_id = 'p2'").run(a, a);
    raw.close();
    expect(() => store.loadShare(b)).toThrow(EnvelopeError);
    expect(() => store.consumePresignature(a, 'p2')).toThrow(expect.objectContaining({ code: 'ENVELOPE_AUTH_FAILED' }));
    // The untouched rows still open.
    expect(store.loadShare(a)).toContain(SHARE_MARKER);
    expect(store.consumePresignature(a, 'p1')).toContain(PRESIG_MARKER);
  });
});
