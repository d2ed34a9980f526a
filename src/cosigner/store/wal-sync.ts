import { open } from 'node:fs/promises';
import { DurabilityError } from './errors.js';

/**
 * Group commit for SQLite in WAL mode, written here because better-sqlite3 can only fsync on the
 * event loop. A transaction committed with synchronous = NORMAL is in the WAL but not flushed;
 * durable() resolves once an fsync of the WAL that began after the call has finished, which makes
 * the transaction as durable as synchronous = FULL would. The fsync runs on libuv's thread pool,
 * off the event loop, and every commit that arrives while one runs shares the next one.
 *
 * A failed fsync is final: Linux reports a lost write-back once and then marks the pages clean, so
 * a later fsync that succeeds proves nothing about earlier frames. Every later durable() rejects
 * too, and the co-signer signs nothing more until it is restarted on a healthy disk.
 */
export class WalSync {
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;
  #failure: DurabilityError | undefined;
  #closed = false;

  constructor(private readonly flush: () => Promise<void>) {}

  /** `databasePath` must be the real path (no symbolic link): SQLite puts the WAL beside the file it resolved. */
  static forDatabase(databasePath: string): WalSync {
    const sync: WalSync = new WalSync(() => flushFile(`${databasePath}-wal`, () => sync.#closed));
    return sync;
  }

  /** The database was closed: SQLite checkpointed and synced the WAL into it and removed the WAL. */
  close(): void {
    this.#closed = true;
  }

  durable(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (!this.#running) return this.#start();
    // The running flush may have begun before this caller's commit: wait for the one after it.
    this.#next ??= this.#running.then(
      () => this.#startNext(),
      () => this.#startNext(),
    );
    return this.#next;
  }

  #startNext(): Promise<void> {
    this.#next = undefined;
    return this.#failure ? Promise.reject(this.#failure) : this.#start();
  }

  #start(): Promise<void> {
    const run = this.flush().then(
      () => {
        if (this.#running === run) this.#running = undefined;
      },
      (error: unknown) => {
        if (this.#running === run) this.#running = undefined;
        this.#failure ??= new DurabilityError(error);
        throw this.#failure;
      },
    );
    this.#running = run;
    return run;
  }
}

async function flushFile(path: string, closed: () => boolean): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    // While the database is open its WAL exists (a commit just wrote to it); it goes only when the
    // last connection closes, after SQLite checkpointed it into the database file and synced that.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && closed()) return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
