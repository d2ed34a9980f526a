import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databasePath, openDatabase } from '../store/database.js';
import { AuditError } from '../store/errors.js';
import { tempDir } from '../store/test-helpers.js';
import { SqliteAuditLog } from './audit-log.js';
import { chainHash, GENESIS_HASH } from './chain.js';

const walletA = 'a'.repeat(32);
const walletB = 'b'.repeat(32);
const device = 'd'.repeat(32);

let dir: ReturnType<typeof tempDir>;
let db: Database.Database;
let log: SqliteAuditLog;
let time: number;

beforeEach(() => {
  dir = tempDir();
  db = openDatabase(databasePath(dir.path));
  time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  log = new SqliteAuditLog(db, { now: () => time });
});
afterEach(() => {
  db.close();
  dir.remove();
});

/** A second, raw connection: what someone with the database file could do. */
function raw<T>(body: (conn: Database.Database) => T): T {
  const conn = new Database(databasePath(dir.path));
  try {
    return body(conn);
  } finally {
    conn.close();
  }
}

function fiveRows(): void {
  log.append({ kind: 'enroll', walletId: walletA, deviceId: device, summary: { identityPublicKey: `02${'11'.repeat(32)}` } });
  log.append({ kind: 'keygen', walletId: walletA, summary: { address: '0x52908400098527886E0F7030069857D2E4169EE7', generation: 0 } });
  log.append({ kind: 'sign', walletId: walletA, deviceId: device, summary: { type: 'transaction', chainId: 1, valueWei: 10n ** 18n } });
  log.append({ kind: 'refuse', walletId: walletA, deviceId: device, summary: { rule: 'per-tx-limit', reason: 'too much' } });
  log.append({ kind: 'policy', walletId: walletB, summary: { policy: { allowedChainIds: [1] }, previous: {} } });
}

describe('SqliteAuditLog.append', () => {
  it('numbers rows from 1 and links each to the previous hash', () => {
    fiveRows();
    const rows = log.list();
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i += 1) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
    for (const row of rows) {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.hash).toBe(chainHash({ ...row, summary: row.summary }));
    }
    expect(rows[0]!.at).toBe('2026-01-02T03:04:05.678Z');
    expect(log.head()).toEqual({ seq: 5, hash: rows[4]!.hash });
  });

  it('stores the summary canonically (sorted keys, bigints as strings)', () => {
    log.append({ kind: 'sign', walletId: walletA, summary: { z: 1, a: { y: 2n, b: true } } });
    const stored = raw((c) => c.prepare('SELECT summary FROM audit_log').pluck().get());
    expect(stored).toBe('{"a":{"b":true,"y":"2"},"z":1}');
    expect(log.list()[0]!.summary).toEqual({ a: { b: true, y: '2' }, z: 1 });
  });

  it('refuses summaries that name secrets, at any depth, and writes nothing', () => {
    for (const summary of [{ share: 'x' }, { details: { privateKey: 'x' } }, { list: [{ presignature_state: 'x' }] }, { Password: 'x' }]) {
      expect(() => log.append({ kind: 'sign', walletId: walletA, summary })).toThrow(expect.objectContaining({ code: 'AUDIT_SECRET_FIELD' }));
    }
    expect(log.head()).toBeUndefined();
  });

  it('refuses unknown kinds, malformed ids, oversized and non-JSON summaries', () => {
    const bad = [
      () => log.append({ kind: 'hack' as 'sign' }),
      () => log.append({ kind: 'sign', walletId: 'not-a-wallet' }),
      () => log.append({ kind: 'sign', deviceId: 'D'.repeat(32) }),
      () => log.append({ kind: 'sign', summary: { blob: 'x'.repeat(70_000) } }),
      () => log.append({ kind: 'sign', summary: { when: new Date() as unknown as string } }),
    ];
    for (const run of bad) expect(run).toThrow(AuditError);
    expect(log.head()).toBeUndefined();
  });

  it("joins the caller's transaction and rolls back with it", () => {
    log.append({ kind: 'admin', summary: { note: 'first' } });
    expect(() =>
      db.transaction(() => {
        log.append({ kind: 'admin', summary: { note: 'lost' } });
        throw new Error('the change it recorded failed');
      })(),
    ).toThrow('the change it recorded failed');
    expect(log.list().map((r) => r.summary.note)).toEqual(['first']);
    log.append({ kind: 'admin', summary: { note: 'second' } });
    expect(log.verify()).toMatchObject({ ok: true, rows: 2 });
  });

  it('keeps one chain when two connections append in turn', () => {
    const other = new Database(databasePath(dir.path));
    const otherLog = new SqliteAuditLog(other);
    try {
      for (let i = 0; i < 10; i += 1) (i % 2 ? otherLog : log).append({ kind: 'admin', summary: { i } });
    } finally {
      other.close();
    }
    expect(log.list().map((r) => r.summary.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(log.verify()).toMatchObject({ ok: true, rows: 10 });
  });
});

describe('SqliteAuditLog.list', () => {
  it('filters by wallet, device and kind; returns the newest rows oldest first; pages with afterSeq', () => {
    fiveRows();
    expect(log.list({ walletId: walletB }).map((r) => r.kind)).toEqual(['policy']);
    expect(log.list({ deviceId: device }).map((r) => r.seq)).toEqual([1, 3, 4]);
    expect(log.list({ kind: 'refuse' })[0]?.summary).toEqual({ rule: 'per-tx-limit', reason: 'too much' });
    expect(log.list({ limit: 2 }).map((r) => r.seq)).toEqual([4, 5]);
    expect(log.list({ afterSeq: 1, limit: 2 }).map((r) => r.seq)).toEqual([2, 3]);
    expect(log.list({ walletId: walletA, afterSeq: 3 }).map((r) => r.seq)).toEqual([4]);
  });
});

describe('SqliteAuditLog.verify', () => {
  it('accepts an empty log and an intact chain', () => {
    expect(log.verify()).toEqual({ ok: true, rows: 0, head: undefined });
    fiveRows();
    expect(log.verify()).toEqual({ ok: true, rows: 5, head: log.head() });
  });

  it('is append-only at the database level: UPDATE and DELETE are refused by triggers', () => {
    fiveRows();
    raw((c) => {
      expect(() => c.prepare("UPDATE audit_log SET summary = '{}' WHERE seq = 2").run()).toThrow(/append-only/);
      expect(() => c.prepare('DELETE FROM audit_log WHERE seq = 5').run()).toThrow(/append-only/);
    });
    expect(log.verify()).toMatchObject({ ok: true, rows: 5 });
  });

  it('fails at the edited row when a summary is changed behind its back', () => {
    fiveRows();
    raw((c) => {
      c.exec('DROP TRIGGER audit_log_no_update');
      c.prepare('UPDATE audit_log SET summary = ? WHERE seq = 3').run('{"chainId":1,"type":"transaction","valueWei":"1"}');
    });
    const result = log.verify();
    expect(result).toMatchObject({ ok: false, brokenAt: 3 });
    expect(!result.ok && result.reason).toMatch(/changed after it was written/);
  });

  it('fails at the edited row for every chained column', () => {
    const edits = [
      "at = '2027-01-01T00:00:00.000Z'",
      "kind = 'admin'",
      `wallet_id = '${walletB}'`,
      'device_id = NULL',
    ];
    fiveRows();
    raw((c) => c.exec('DROP TRIGGER audit_log_no_update'));
    for (const edit of edits) {
      const before = raw((c) => c.prepare('SELECT * FROM audit_log WHERE seq = 4').get()) as Record<string, unknown>;
      raw((c) => c.exec(`UPDATE audit_log SET ${edit} WHERE seq = 4`));
      expect(log.verify()).toMatchObject({ ok: false, brokenAt: 4 });
      raw((c) => c.prepare('UPDATE audit_log SET at = ?, kind = ?, wallet_id = ?, device_id = ? WHERE seq = 4').run(before.at, before.kind, before.wallet_id, before.device_id));
      expect(log.verify()).toMatchObject({ ok: true });
    }
  });

  it('fails at the next row when an edited row also gets a recomputed hash', () => {
    fiveRows();
    const row = log.list()[1]!;
    const summary = { ...row.summary, generation: 7 };
    const forged = chainHash({ ...row, summary });
    raw((c) => {
      c.exec('DROP TRIGGER audit_log_no_update');
      c.prepare('UPDATE audit_log SET summary = ?, hash = ? WHERE seq = 2').run(JSON.stringify(Object.fromEntries(Object.entries(summary).sort())), forged);
    });
    expect(log.verify()).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('fails on a summary rewritten to the same content in non-canonical form', () => {
    fiveRows();
    raw((c) => {
      c.exec('DROP TRIGGER audit_log_no_update');
      c.prepare('UPDATE audit_log SET summary = ? WHERE seq = 4').run('{"rule": "per-tx-limit", "reason": "too much"}');
    });
    expect(log.verify()).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('fails at the missing seq when a row is deleted', () => {
    fiveRows();
    raw((c) => {
      c.exec('DROP TRIGGER audit_log_no_delete');
      c.prepare('DELETE FROM audit_log WHERE seq = 3').run();
    });
    const result = log.verify();
    expect(result).toMatchObject({ ok: false, brokenAt: 3 });
    expect(!result.ok && result.reason).toMatch(/missing/);
  });

  it('fails at 1 when the first row is deleted', () => {
    fiveRows();
    raw((c) => {
      c.exec('DROP TRIGGER audit_log_no_delete');
      c.prepare('DELETE FROM audit_log WHERE seq = 1').run();
    });
    expect(log.verify()).toMatchObject({ ok: false, brokenAt: 1 });
  });

  it('catches a cut-off tail only against a head recorded earlier', () => {
    fiveRows();
    const head = log.head()!;
    raw((c) => {
      c.exec('DROP TRIGGER audit_log_no_delete');
      c.prepare('DELETE FROM audit_log WHERE seq >= 4').run();
    });
    expect(log.verify()).toMatchObject({ ok: true, rows: 3 });
    expect(log.verify({ expectedHead: head })).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('catches a whole rewritten chain against a head recorded earlier', () => {
    fiveRows();
    const head = log.head()!;
    raw((c) => {
      c.exec('DROP TRIGGER audit_log_no_delete');
      c.prepare('DELETE FROM audit_log').run();
    });
    for (let i = 0; i < 5; i += 1) log.append({ kind: 'admin', summary: { forged: randomBytes(4).toString('hex') } });
    expect(log.verify()).toMatchObject({ ok: true, rows: 5 });
    expect(log.verify({ expectedHead: head })).toMatchObject({ ok: false, brokenAt: 5 });
  });
});
