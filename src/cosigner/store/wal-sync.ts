import { open, type FileHandle } from 'node:fs/promises';
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

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly release: () => void = () => undefined,
  ) {}

  /** `databasePath` must be the real path (no symbolic link): SQLite puts the WAL beside the file it resolved. */
  static forDatabase(databasePath: string): WalSync {
    const wal = new WalFile(`${databasePath}-wal`);
    const sync: WalSync = new WalSync(
      () => (sync.#closed ? Promise.resolve() : wal.sync()),
      () => wal.close(),
    );
    return sync;
  }

  /** The database was closed: SQLite checkpointed and synced the WAL into it and removed the WAL. */
  close(): void {
    this.#closed = true;
    this.release();
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

/**
 * The WAL, opened at the first flush and kept open: opening and closing it cost more than the fsync
 * on every signature made one at a time. The file stays the same while the database is open: SQLite
 * removes the WAL only when the last connection closes, and this process's connection is open
 * until close().
 */
class WalFile {
  #handle: Promise<FileHandle> | undefined;

  constructor(private readonly path: string) {}

  /** A failed open is not retried: WalSync treats any failed flush as final. */
  async sync(): Promise<void> {
    this.#handle ??= open(this.path, 'r+');
    await (await this.#handle).sync();
  }

  close(): void {
    const opening = this.#handle;
    this.#handle = undefined;
    void opening?.then((handle) => handle.close()).catch(() => undefined);
  }
}
