import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MasterKeyError } from './errors.js';
import { loadMasterKey, MASTER_KEY_ENV, masterKeyId } from './master-key.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-master-key-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MasterKeyError);
    return (error as MasterKeyError).code;
  }
  return undefined;
}

describe('loadMasterKey', () => {
  it('reads a hex key from TANDEM_MASTER_KEY (with or without 0x) and never touches the data directory', () => {
    const bytes = randomBytes(32);
    const warnings: string[] = [];
    const plain = loadMasterKey({ dataDir: join(dir, 'data'), env: { [MASTER_KEY_ENV]: bytes.toString('hex') }, warn: (t) => warnings.push(t) });
    const prefixed = loadMasterKey({ dataDir: join(dir, 'data'), env: { [MASTER_KEY_ENV]: `0x${bytes.toString('hex').toUpperCase()}` } });
    expect(Buffer.from(plain.bytes).equals(bytes)).toBe(true);
    expect(Buffer.from(prefixed.bytes).equals(bytes)).toBe(true);
    expect(plain.source).toBe('env');
    expect(warnings).toEqual([]);
    expect(() => statSync(join(dir, 'data'))).toThrow();
  });

  it('reads a base64 and a base64url key from the environment', () => {
    const bytes = randomBytes(32);
    for (const text of [bytes.toString('base64'), bytes.toString('base64url')]) {
      const key = loadMasterKey({ dataDir: dir, env: { [MASTER_KEY_ENV]: text } });
      expect(Buffer.from(key.bytes).equals(bytes)).toBe(true);
    }
  });

  it('refuses an environment key of the wrong length or encoding', () => {
    expect(codeOf(() => loadMasterKey({ dataDir: dir, env: { [MASTER_KEY_ENV]: randomBytes(16).toString('hex') } }))).toBe('MASTER_KEY_WRONG_LENGTH');
    expect(codeOf(() => loadMasterKey({ dataDir: dir, env: { [MASTER_KEY_ENV]: randomBytes(33).toString('base64') } }))).toBe('MASTER_KEY_WRONG_LENGTH');
    expect(codeOf(() => loadMasterKey({ dataDir: dir, env: { [MASTER_KEY_ENV]: 'not a key!' } }))).toBe('MASTER_KEY_BAD_ENCODING');
  });

  it('refuses both an environment key and a key file', () => {
    const file = join(dir, 'k');
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    expect(codeOf(() => loadMasterKey({ dataDir: dir, keyFile: file, env: { [MASTER_KEY_ENV]: randomBytes(32).toString('hex') } }))).toBe('MASTER_KEY_AMBIGUOUS');
  });

  it('reads a key file holding hex text, base64 text or 32 raw bytes', () => {
    const bytes = randomBytes(32);
    for (const content of [`${bytes.toString('hex')}\n`, bytes.toString('base64'), bytes]) {
      const file = join(dir, 'key');
      writeFileSync(file, content, { mode: 0o600 });
      chmodSync(file, 0o600);
      const key = loadMasterKey({ dataDir: dir, keyFile: file, env: {} });
      expect(Buffer.from(key.bytes).equals(bytes)).toBe(true);
      expect(key.source).toBe('file');
      expect(key.path).toBe(file);
      rmSync(file);
    }
  });

  it('refuses a key file of the wrong length', () => {
    const file = join(dir, 'short.key');
    writeFileSync(file, randomBytes(31).toString('hex'), { mode: 0o600 });
    expect(codeOf(() => loadMasterKey({ dataDir: dir, keyFile: file, env: {} }))).toBe('MASTER_KEY_WRONG_LENGTH');
  });

  it('refuses a world-readable key file and names the fix', () => {
    const file = join(dir, 'open.key');
    writeFileSync(file, randomBytes(32).toString('hex'));
    chmodSync(file, 0o644);
    let error: unknown;
    try {
      loadMasterKey({ dataDir: dir, keyFile: file, env: {} });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MasterKeyError);
    expect((error as MasterKeyError).code).toBe('MASTER_KEY_INSECURE_FILE');
    expect((error as MasterKeyError).shortMessage).toContain('chmod 600');
  });

  it('refuses a missing key file', () => {
    expect(codeOf(() => loadMasterKey({ dataDir: dir, keyFile: join(dir, 'absent.key'), env: {} }))).toBe('MASTER_KEY_UNREADABLE');
  });

  it('generates a key into <dataDir>/master.key with mode 0600, warns loudly without printing it, and loads it again next time', () => {
    const dataDir = join(dir, 'fresh', 'data');
    const warnings: string[] = [];
    const first = loadMasterKey({ dataDir, env: {}, warn: (t) => warnings.push(t) });
    const path = join(dataDir, 'master.key');
    expect(first.source).toBe('generated');
    expect(first.path).toBe(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toBe(Buffer.from(first.bytes).toString('hex'));

    expect(warnings).toHaveLength(1);
    const warning = warnings[0]!;
    expect(warning.split('\n').length).toBeGreaterThan(5);
    expect(warning).toMatch(/WARNING/);
    expect(warning).toMatch(/back it up/i);
    expect(warning).toMatch(/secret manager/i);
    expect(warning).toMatch(/LOSE IT AND EVERY SHARE IS LOST/);
    expect(warning).toContain(first.keyId);
    const hex = Buffer.from(first.bytes).toString('hex');
    expect(warning.toLowerCase()).not.toContain(hex);
    expect(warning).not.toContain(Buffer.from(first.bytes).toString('base64'));

    const again: string[] = [];
    const second = loadMasterKey({ dataDir, env: {}, warn: (t) => again.push(t) });
    expect(second.source).toBe('file');
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).toBe(true);
    expect(again).toEqual([]);
  });

  it('gives every key a stable id that differs between keys and is not the key', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    expect(masterKeyId(a)).toBe(masterKeyId(Uint8Array.from(a)));
    expect(masterKeyId(a)).not.toBe(masterKeyId(b));
    expect(masterKeyId(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(a.toString('hex')).not.toContain(masterKeyId(a));
  });

  it('refuses to generate a key beside an existing database, which a new key could not open', () => {
    writeFileSync(join(dir, 'cosigner.sqlite'), '');
    const warnings: string[] = [];
    expect(codeOf(() => loadMasterKey({ dataDir: dir, env: {}, warn: (t) => warnings.push(t) }))).toBe('MASTER_KEY_MISSING');
    expect(warnings).toEqual([]);
    expect(() => statSync(join(dir, 'master.key'))).toThrow();
  });
});
