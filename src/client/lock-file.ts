/**
 * Exclusive lock files holding their owner's pid, for the wallet file's read-modify-write and for
 * one tandem-client per wallet. Hand-written: no installed library locks files. A lock left by a
 * dead process is reported, never removed here: two waiters removing it at once would both take it.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** Creates the lock file with this process's pid; false when it exists already. Other failures throw. */
export function createLockFile(lockPath: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid in a lock file: 'released' when it is gone, undefined while its owner has yet to write it. */
export function lockOwner(lockPath: string): number | undefined | 'released' {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch {
    return 'released';
  }
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when the lock's owner is known and no longer running. */
export function lockOwnerIsGone(lockPath: string): boolean {
  const owner = lockOwner(lockPath);
  if (owner === 'released' || owner === undefined) return false;
  try {
    process.kill(owner, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
