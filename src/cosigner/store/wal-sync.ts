import { open } from 'node:fs/promises';
import { DurabilityError } from './errors.js';

/**
 * Group commit for SQLite in WAL mode, written here because better-sqlite3 can only fsync on the
 * event loop. A transaction committed with synchronous = NORMAL is in the WAL but not flushed;
 * durable() resolves once an fsync of the WAL that began after the call has finished, which makes
 * the transaction as durable as synchronous = FULL would. The fsync runs on libuv's thread pool,
 * off the event loop, and every commit that arrives while one runs shares the next one.
 */
export class WalSync {
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(private readonly flush: () => Promise<void>) {}

  static forDatabase(path: string): WalSync {
    return new WalSync(() => flushFile(`${path}-wal`));
  }

  durable(): Promise<void> {
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
    return this.#start();
  }

  #start(): Promise<void> {
    const run = this.flush().then(
      () => {
        if (this.#running === run) this.#running = undefined;
      },
      (error: unknown) => {
        if (this.#running === run) this.#running = undefined;
        throw new DurabilityError(error);
      },
    );
    this.#running = run;
    return run;
  }
}

async function flushFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    // SQLite removes the WAL only when the last connection closes, after checkpointing it into the
    // database file and syncing that: whatever it held is on disk already.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
