import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceFile, type DeviceFileContents } from './device-file.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function walletPath(): string {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-device-file-'));
  directories.push(directory);
  return join(directory, 'wallet.json');
}

const contents: DeviceFileContents = {
  version: 1,
  cosignerUrl: 'https://127.0.0.1:8884',
  brokerUrl: 'wss://127.0.0.1:8884/mqtt',
  cosignerIdentity: '02'.padEnd(66, '1'),
  identitySecret: '3'.repeat(64),
  deviceId: 'd'.repeat(32),
  walletId: 'w'.repeat(32),
  parties: [1, 2],
  token: 'token',
  tokenExpiresAt: 0,
  presignatures: [],
};

describe('DeviceFile presignatures', () => {
  it('takes each presignature once, and the file on disk no longer holds it', () => {
    const path = walletPath();
    const file = DeviceFile.create(path, { ...contents, presignatures: [{ id: 'a', state: '{}' }, { id: 'b', state: '{}' }] });
    expect(file.takePresignature()?.id).toBe('a');
    expect(DeviceFile.open(path).contents.presignatures.map((p) => p.id)).toEqual(['b']);
    expect(DeviceFile.open(path).takePresignature()?.id).toBe('b');
    expect(file.takePresignature()).toBeUndefined();
  });

  it('taking from an empty pool leaves the file untouched (no rewrite on the full-protocol path)', () => {
    const path = walletPath();
    const file = DeviceFile.create(path, contents);
    const before = statSync(path);
    expect(file.takePresignature()).toBeUndefined();
    const after = statSync(path);
    // A rewrite replaces the file by rename: a new inode.
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('a taken presignature is gone for another handle on the same file (checked on disk, not in memory)', () => {
    const path = walletPath();
    const first = DeviceFile.create(path, { ...contents, presignatures: [{ id: 'only', state: '{}' }] });
    const second = DeviceFile.open(path);
    expect(first.takePresignature()?.id).toBe('only');
    expect(second.takePresignature()).toBeUndefined();
  });
});
