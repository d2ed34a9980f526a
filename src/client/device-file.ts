/**
 * Where the headless client keeps one wallet: a JSON file, owner-only (0600), replaced
 * atomically (write, fsync, rename) so a crash never leaves half a share or a used presignature.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DevicePresignature } from '../channel/device-protocol.js';
import type { DeviceRecord } from '../channel/device-session.js';
import { ClientError } from './errors.js';
import { readOwnerOnlyFile } from './owner-only-file.js';
import { acquireLock } from './lock-file.js';

export interface DeviceFileContents extends DeviceRecord {
  version: 1;
}

export class DeviceFile {
  readonly path: string;
  #contents: DeviceFileContents;

  private constructor(path: string, contents: DeviceFileContents) {
    this.path = path;
    this.#contents = contents;
  }

  static create(path: string, contents: DeviceFileContents): DeviceFile {
    DeviceFile.assertFree(path);
    mkdirSync(dirname(path), { recursive: true });
    const file = new DeviceFile(path, contents);
    // Created exclusively: of two processes creating one wallet file, one fails here.
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (cause) {
      throw new ClientError('CLIENT_FILE_EXISTS', `A wallet file already exists at ${path}; choose another path.`, { cause });
    }
    closeSync(fd);
    file.#write();
    return file;
  }

  /** Throws if a wallet file exists at `path`: check before enrolling, so a taken path costs nothing. */
  static assertFree(path: string): void {
    let exists = false;
    try {
      statSync(path);
      exists = true;
    } catch {
      // does not exist: good
    }
    if (exists) throw new ClientError('CLIENT_FILE_EXISTS', `A wallet file already exists at ${path}; choose another path.`);
  }

  static open(path: string): DeviceFile {
    const text = readOwnerOnlyFile(path, 'wallet file', 'Create one with "tandem-client create".');
    let contents: DeviceFileContents;
    try {
      contents = JSON.parse(text) as DeviceFileContents;
    } catch (cause) {
      throw new ClientError('CLIENT_FILE_CORRUPT', `The wallet file ${path} is not valid JSON.`, { cause });
    }
    if (contents.version !== 1) throw new ClientError('CLIENT_FILE_CORRUPT', `The wallet file ${path} has an unknown version.`);
    return new DeviceFile(path, contents);
  }

  get contents(): Readonly<DeviceFileContents> {
    return this.#contents;
  }

  update(change: Partial<DeviceFileContents>): void {
    this.#modify((contents) => ({ ...contents, ...change }));
  }

  addPresignature(presignature: DevicePresignature): void {
    this.#modify((contents) => ({ ...contents, presignatures: [...contents.presignatures, presignature] }));
  }

  /**
   * Takes one presignature out of the file, durably, and returns it. The file is re-read under
   * a lock first, so two processes on one wallet never take the same one: a second online
   * message for one presignature would give the co-signer this device's share.
   */
  takePresignature(): DevicePresignature | undefined {
    let taken: DevicePresignature | undefined;
    this.#modify((contents) => {
      const [first, ...rest] = contents.presignatures;
      taken = first;
      // An empty pool changes nothing on disk: no rewrite (two fsyncs) on the full-protocol path.
      return first ? { ...contents, presignatures: rest } : undefined;
    });
    return taken;
  }

  /**
   * Read-modify-write under an exclusive lock file, from what is on disk now, not from memory.
   * A change that returns undefined leaves the file as it is.
   */
  #modify(change: (contents: DeviceFileContents) => DeviceFileContents | undefined): void {
    const release = acquireLock(`${this.path}.update-lock`, 'wallet file');
    try {
      const current = JSON.parse(readFileSync(this.path, 'utf8')) as DeviceFileContents;
      const changed = change(current);
      this.#contents = changed ?? current;
      if (changed) this.#write();
    } finally {
      release();
    }
  }

  #write(): void {
    const temporary = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(this.#contents, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
    // The rename is durable only once the directory entry is: a used presignature must not come back after a power loss.
    const directory = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
  }
}
