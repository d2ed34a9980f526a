import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApproverRecord } from '../channel/approver-session.js';
import { ApproverFile } from './approver-file.js';
import { ClientError } from './errors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(name = 'alice.approver.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-approver-file-'));
  dirs.push(dir);
  return join(dir, 'nested', name);
}

const record: ApproverRecord = {
  cosignerUrl: 'https://127.0.0.1:8884',
  brokerUrl: 'wss://127.0.0.1:8884/mqtt',
  cosignerIdentity: `02${'aa'.repeat(32)}`,
  identitySecret: 'bb'.repeat(32),
  approverId: 'cc'.repeat(16),
  name: 'alice',
  token: 'token-1',
  tokenExpiresAt: 1_000,
};

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ClientError);
    return (error as ClientError).code;
  }
  throw new Error('expected the call to throw');
}

describe('ApproverFile', () => {
  it('is written owner-only with the record, and reads back', () => {
    const path = tempPath();
    const written = ApproverFile.reserve(path).fill(record);
    expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ format: 'tandem-approver', version: 1, ...record });
    expect(ApproverFile.open(path).contents).toEqual(written.contents);
  });

  it('refuses an existing path before anything is spent, and a discarded reservation leaves nothing', () => {
    const path = tempPath();
    const reserved = ApproverFile.reserve(path);
    expect(codeOf(() => ApproverFile.reserve(path))).toBe('CLIENT_FILE_EXISTS');
    reserved.discard();
    expect(existsSync(path)).toBe(false);
    const filled = ApproverFile.reserve(path);
    filled.fill(record);
    filled.discard(); // after fill: keeps the file
    expect(existsSync(path)).toBe(true);
  });

  it('keeps renewed credentials only, atomically, still 0600, leaving no temporary or lock file', () => {
    const path = tempPath();
    const file = ApproverFile.reserve(path).fill(record);
    file.update({ ...record, token: 'token-2', tokenExpiresAt: 2_000, name: 'mallory', identitySecret: 'dd'.repeat(32) });
    const stored = JSON.parse(readFileSync(path, 'utf8')) as ApproverRecord;
    expect(stored).toMatchObject({ token: 'token-2', tokenExpiresAt: 2_000, name: 'alice', identitySecret: record.identitySecret });
    expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
    expect(readdirSync(join(path, '..'))).toEqual(['alice.approver.json']);
    expect(codeOf(() => file.update({ ...record, approverId: 'dd'.repeat(16) }))).toBe('CLIENT_FILE_CORRUPT');
  });

  it('refuses a file others can read, a missing one, a wallet file and a damaged one, each with its own message', () => {
    const path = tempPath();
    ApproverFile.reserve(path).fill(record);
    chmodSync(path, 0o644);
    expect(codeOf(() => ApproverFile.open(path))).toBe('CLIENT_FILE_PERMISSIONS');
    chmodSync(path, 0o600);

    expect(codeOf(() => ApproverFile.open(`${path}.missing`))).toBe('CLIENT_FILE_MISSING');

    writeFileSync(path, JSON.stringify({ version: 1, walletId: 'ee'.repeat(16) }), { mode: 0o600 });
    expect(() => ApproverFile.open(path)).toThrow(/not a Tandem approver file .* It is a wallet file/);

    writeFileSync(path, '{"format": "tandem-approver", "ver', { mode: 0o600 });
    expect(codeOf(() => ApproverFile.open(path))).toBe('CLIENT_FILE_CORRUPT');

    const { identitySecret: _secret, ...withoutSecret } = record;
    writeFileSync(path, JSON.stringify({ format: 'tandem-approver', version: 1, ...withoutSecret }), { mode: 0o600 });
    expect(() => ApproverFile.open(path)).toThrow(/has no identitySecret/);
  });
});
