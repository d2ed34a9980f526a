import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropPreviousBackup, previousBackupPath, writeNewBackupFile } from './backup-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-backup-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a re-sharing writing its new backup share over the old one', () => {
  it('keeps the old one as .previous (owner-only) until the commit, then drops it', () => {
    const path = join(dir, 'backup.json');
    writeFileSync(path, 'generation 0');
    writeNewBackupFile(path, 'generation 1');
    expect(readFileSync(path, 'utf8')).toBe('generation 1');
    expect(readFileSync(previousBackupPath(path), 'utf8')).toBe('generation 0');
    expect(statSync(previousBackupPath(path)).mode & 0o777).toBe(0o600);
    dropPreviousBackup(path);
    expect(existsSync(previousBackupPath(path))).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('generation 1');
  });

  it('after a cut run, a second one keeps the share from before the first as the fallback', () => {
    const path = join(dir, 'backup.json');
    writeFileSync(path, 'generation 0');
    writeNewBackupFile(path, 'generation 1, never committed');
    writeNewBackupFile(path, 'generation 1, second run');
    expect(readFileSync(previousBackupPath(path), 'utf8')).toBe('generation 0');
  });

  it('writes a new file with no .previous when nothing was there', () => {
    const path = join(dir, 'new-backup.json');
    writeNewBackupFile(path, 'generation 1');
    expect(readFileSync(path, 'utf8')).toBe('generation 1');
    expect(existsSync(previousBackupPath(path))).toBe(false);
  });
});
