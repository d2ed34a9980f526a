import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvelopeError } from './errors.js';
import type { MasterKey } from './master-key.js';
import { attempt, GROUP_PUBLIC_KEY, newId, newIdentityKey, newMasterKey, storeBackends, thrown, WALLET_ADDRESS, type BackendDatabase } from './test-helpers.js';
import type { CosignerStore } from './types.js';

const SHARE_MARKER = 'PLAINTEXT-SHARE-MARKER-7f3a9c';
const PRESIG_MARKER = 'PLAINTEXT-PRESIG-MARKER-c41e07';

let db: BackendDatabase;
let masterKey: MasterKey;
let store: CosignerStore;

async function fill(): Promise<string> {
  const walletId = newId();
  await store.enroll({ walletId, deviceId: newId(), identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2, 3] });
  await store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: `{"secretShare":"${SHARE_MARKER}"}`, generation: 0 });
  await store.putPresignature({ walletId, presignatureId: 'p1', state: `{"k":"${PRESIG_MARKER}"}` });
  return walletId;
}

describe.each(storeBackends())('$name', (backend) => {
  beforeEach(async () => {
    db = await backend.create();
    masterKey = newMasterKey();
    store = await db.open({ masterKey });
  });
  afterEach(async () => {
    await store.close();
    await db.remove();
  });

  describe('encryption at rest', () => {
    /** Every byte the database left on disk: the main file, the WAL and the shared-memory index. */
    const bytesOnDisk = () => Buffer.concat(readdirSync(dirname(db.location)).map((name) => readFileSync(join(dirname(db.location), name))));

    it.runIf(backend.name === 'sqlite')('writes no plaintext of a share or presignature state to the database, its WAL or its index', async () => {
      const walletId = await fill();
      // While open, the writes sit in the WAL.
      let disk = bytesOnDisk();
      expect(disk.length).toBeGreaterThan(0);
      expect(disk.includes(walletId)).toBe(true); // the check reads the files that hold the data
      expect(disk.includes(SHARE_MARKER)).toBe(false);
      expect(disk.includes(PRESIG_MARKER)).toBe(false);
      // After close, everything is checkpointed into the main file.
      await store.close();
      disk = bytesOnDisk();
      expect(disk.includes(walletId)).toBe(true);
      expect(disk.includes(SHARE_MARKER)).toBe(false);
      expect(disk.includes(PRESIG_MARKER)).toBe(false);
      expect(disk.includes(Buffer.from(masterKey.bytes))).toBe(false);
      expect(disk.includes(Buffer.from(masterKey.bytes).toString('hex'))).toBe(false);
      store = await db.open({ masterKey });
      expect(await store.loadShare(walletId)).toContain(SHARE_MARKER);
    });

    it.runIf(backend.name === 'postgres')('keeps no plaintext of a share or presignature state in any column of any table', async () => {
      const walletId = await fill();
      // Every row of every table, as text: what a database dump or a read-only role would see.
      const tables = await db.raw<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
      expect(tables.length).toBeGreaterThan(5);
      let dump = '';
      for (const { name } of tables) {
        if (!/^[a-z_]+$/.test(name)) throw new Error(`unexpected table ${name}`);
        dump += JSON.stringify(await db.raw(`SELECT t::text AS row FROM ${name} t`));
      }
      expect(dump).toContain(walletId);
      expect(dump).not.toContain(SHARE_MARKER);
      expect(dump).not.toContain(PRESIG_MARKER);
      expect(dump).not.toContain(Buffer.from(SHARE_MARKER).toString('hex'));
      expect(dump).not.toContain(Buffer.from(masterKey.bytes).toString('hex'));
      const [share] = await db.raw<{ sealed: Uint8Array }>('SELECT sealed FROM shares WHERE wallet_id = ?', walletId);
      expect(Buffer.from(share!.sealed).includes(SHARE_MARKER)).toBe(false);
      expect(await store.loadShare(walletId)).toContain(SHARE_MARKER);
    });

    it('cannot be read back with another master key', async () => {
      const walletId = await fill();
      await store.close();
      await expect(attempt(() => db.open({ masterKey: newMasterKey() }))).rejects.toThrow(/another master key/);
      store = await db.open({ masterKey });
      expect(await store.consumePresignature(walletId, 'p1')).toContain(PRESIG_MARKER);
    });

    it('refuses a sealed share or presignature state copied into another row', async () => {
      const a = await fill();
      const b = await fill();
      await store.putPresignature({ walletId: a, presignatureId: 'p2', state: 'other' });
      await db.raw('UPDATE shares SET sealed = (SELECT sealed FROM shares WHERE wallet_id = ?) WHERE wallet_id = ?', a, b);
      await db.raw("UPDATE presignatures SET sealed_state = (SELECT sealed_state FROM presignatures WHERE wallet_id = ? AND presignature_id = 'p1') WHERE wallet_id = ? AND presignature_id = 'p2'", a, a);
      expect(await thrown(() => store.loadShare(b))).toBeInstanceOf(EnvelopeError);
      expect(await thrown(() => store.consumePresignature(a, 'p2'))).toMatchObject({ code: 'ENVELOPE_AUTH_FAILED' });
      // The untouched rows still open.
      expect(await store.loadShare(a)).toContain(SHARE_MARKER);
      expect(await store.consumePresignature(a, 'p1')).toContain(PRESIG_MARKER);
    });
  });
});
