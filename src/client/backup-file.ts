/**
 * The headless client's backup share file (its recovery kit): what `create` writes and what
 * restore, refresh and emergency signing read. Every way it can be wrong gets its own message,
 * checked before anything is sent anywhere.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { importKeyShare, keyShareAddress, type KeyShare } from '../mpc/keyshare.js';
import { BACKUP_PARTY } from '../channel/cosigner-protocol.js';
import { ClientError } from './errors.js';

export const BACKUP_FORMAT = 'tandem-backup-share';

export interface BackupFile {
  walletId: string;
  address: `0x${string}`;
  share: KeyShare;
  /** exportKeyShare() text, as stored. Secret. */
  shareText: string;
}

export function backupFileText(walletId: string, address: string, shareText: string): string {
  return JSON.stringify({ format: BACKUP_FORMAT, version: 1, walletId, address, share: shareText }, null, 2);
}

export function readBackupFile(path: string): BackupFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ClientError('CLIENT_FILE_MISSING', `Cannot read the backup share file ${path}: ${(cause as Error).message}`, { cause });
  }
  let parsed: { format?: unknown; version?: unknown; walletId?: unknown; address?: unknown; share?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ClientError('CLIENT_FILE_CORRUPT', `${path} is not a complete backup share file (it is not valid JSON: truncated or damaged?).`, { cause });
  }
  if (parsed?.format !== BACKUP_FORMAT || parsed.version !== 1 || typeof parsed.walletId !== 'string' || typeof parsed.address !== 'string' || typeof parsed.share !== 'string') {
    throw new ClientError('CLIENT_FILE_CORRUPT', `${path} is not a Tandem backup share file (format ${BACKUP_FORMAT}, version 1).`);
  }
  let share: KeyShare;
  try {
    share = importKeyShare(parsed.share);
  } catch (cause) {
    throw new ClientError('CLIENT_FILE_CORRUPT', `The share inside ${path} is damaged; it cannot be read.`, { cause });
  }
  if (share.partyId !== BACKUP_PARTY) throw new ClientError('CLIENT_FILE_CORRUPT', `${path} holds the share of party ${share.partyId}, not the backup share (party ${BACKUP_PARTY}).`);
  if (keyShareAddress(share).toLowerCase() !== parsed.address.toLowerCase()) {
    throw new ClientError('CLIENT_FILE_CORRUPT', `The share inside ${path} is of ${keyShareAddress(share)}, but the file says ${parsed.address}: it was tampered with.`);
  }
  return { walletId: parsed.walletId, address: keyShareAddress(share), share, shareText: parsed.share };
}

/** Writes (or replaces) a backup share file owner-only and atomically: a crash leaves the old file or the new one. */
export function writeBackupFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Where the backup share a re-sharing replaces waits until that re-sharing is committed. */
export function previousBackupPath(path: string): string {
  return `${path}.previous`;
}

/**
 * Writes a re-sharing's new backup share at `path` before the co-signer commits it, keeping the
 * share it replaces as `<path>.previous`: until the commit only that one works, after it only the
 * new one. A run cut in between leaves both; running the command again commits, then
 * dropPreviousBackup removes the old one.
 */
export function writeNewBackupFile(path: string, text: string): void {
  const previous = previousBackupPath(path);
  // An earlier cut run already kept the share from before it: that one stays the fallback.
  if (existsSync(path) && !existsSync(previous)) writeBackupFile(previous, readFileSync(path, 'utf8'));
  writeBackupFile(path, text);
}

/** The re-sharing was committed: the share it replaced is dead, and goes. */
export function dropPreviousBackup(path: string): void {
  rmSync(previousBackupPath(path), { force: true });
}
