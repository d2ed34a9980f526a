/**
 * Exclusive lock files holding their owner's pid, for the wallet and approver files'
 * read-modify-write and for one tandem-client per wallet. Hand-written: no installed library locks files. A lock left by a
 * dead process is reported, never removed here: two waiters removing it at once would both take it.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { ClientError } from './errors.js';

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

const LOCK_WAIT_MS = 10_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Takes the lock for one read-modify-write of a file (`what` names it in errors: "wallet file"),
 * waiting up to 10 s for another process to finish its own; returns the release.
 */
export function acquireLock(lockPath: string, what: string): () => void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    if (createLockFile(lockPath)) return () => rmSync(lockPath, { force: true });
    if (lockOwnerIsGone(lockPath)) throw new ClientError('CLIENT_FILE_BUSY', `${lockPath} was left by a process that is no longer running: delete it and try again.`);
    if (Date.now() > deadline) throw new ClientError('CLIENT_FILE_BUSY', `The ${what} is locked by another process (${lockPath}).`);
    Atomics.wait(sleeper, 0, 0, 10);
  }
}
