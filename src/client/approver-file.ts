/**
 * Where the headless client keeps one approver: a JSON file, owner-only (0600) like the wallet
 * file (device-file.ts), because it holds the approver's identity key: whoever has it can sign
 * decisions. Created exclusively, replaced atomically (write, fsync, rename; writeBackupFile) when
 * the broker token is renewed, under the same lock files as the wallet file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ApproverRecord } from '../channel/approver-session.js';
import { writeBackupFile } from './backup-file.js';
import { ClientError } from './errors.js';
import { readOwnerOnlyFile } from './owner-only-file.js';
import { acquireLock } from './lock-file.js';

export const APPROVER_FORMAT = 'tandem-approver';

export interface ApproverFileContents extends ApproverRecord {
  format: typeof APPROVER_FORMAT;
  version: 1;
}

const REQUIRED_STRINGS = ['cosignerUrl', 'brokerUrl', 'cosignerIdentity', 'identitySecret', 'approverId', 'name', 'token'] as const;

export class ApproverFile {
  readonly path: string;
  #contents: ApproverFileContents;

  private constructor(path: string, contents: ApproverFileContents) {
    this.path = path;
    this.#contents = contents;
  }

  /**
   * Takes the path now, empty and owner-only, so a path that is taken or cannot be written fails
   * before the one-time code is spent. fill() writes it; discard() removes it if enrolling failed.
   */
  static reserve(path: string): { fill(record: ApproverRecord): ApproverFile; discard(): void } {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (cause) {
      const exists = (cause as NodeJS.ErrnoException).code === 'EEXIST';
      throw new ClientError(exists ? 'CLIENT_FILE_EXISTS' : 'CLIENT_FILE_MISSING', exists ? `A file already exists at ${path}; choose another path for the approver file.` : `Cannot create ${path}: ${(cause as Error).message}`, { cause });
    }
    closeSync(fd);
    let filled = false;
    return {
      fill(record) {
        const file = new ApproverFile(path, { format: APPROVER_FORMAT, version: 1, ...record });
        file.#write();
        filled = true;
        return file;
      },
      discard() {
        if (!filled) rmSync(path, { force: true });
      },
    };
  }

  static open(path: string): ApproverFile {
    const text = readOwnerOnlyFile(path, 'approver file', `Enroll with "tandem-client approver enroll --cosigner <url> --code <code> --file ${path}".`);
    return new ApproverFile(path, parseContents(text, path));
  }

  get contents(): Readonly<ApproverFileContents> {
    return this.#contents;
  }

  /** Keeps renewed credentials: read-modify-write of what is on disk, under a lock. */
  update(record: ApproverRecord): void {
    const release = acquireLock(`${this.path}.update-lock`, 'approver file');
    try {
      const current = parseContents(readFileSync(this.path, 'utf8'), this.path);
      if (current.approverId !== record.approverId) throw new ClientError('CLIENT_FILE_CORRUPT', `${this.path} now holds approver ${current.approverId}, not ${record.approverId}; it was replaced meanwhile.`);
      this.#contents = { ...current, token: record.token, tokenExpiresAt: record.tokenExpiresAt };
      this.#write();
    } finally {
      release();
    }
  }

  #write(): void {
    writeBackupFile(this.path, JSON.stringify(this.#contents, null, 2));
    // The rename is durable once the directory entry is.
    const directory = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
  }
}

function parseContents(text: string, path: string): ApproverFileContents {
  let parsed: Partial<ApproverFileContents> & Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (cause) {
    throw new ClientError('CLIENT_FILE_CORRUPT', `The approver file ${path} is not valid JSON (empty, truncated or damaged).`, { cause });
  }
  if (parsed?.format !== APPROVER_FORMAT || parsed.version !== 1) {
    const hint = typeof parsed?.['walletId'] === 'string' ? ' It is a wallet file: give it with --wallet, to the device commands.' : '';
    throw new ClientError('CLIENT_FILE_CORRUPT', `${path} is not a Tandem approver file (format ${APPROVER_FORMAT}, version 1).${hint}`);
  }
  for (const field of REQUIRED_STRINGS) {
    if (typeof parsed[field] !== 'string' || parsed[field] === '') throw new ClientError('CLIENT_FILE_CORRUPT', `The approver file ${path} has no ${field}.`);
  }
  if (typeof parsed.tokenExpiresAt !== 'number') throw new ClientError('CLIENT_FILE_CORRUPT', `The approver file ${path} has no tokenExpiresAt.`);
  return parsed as ApproverFileContents;
}
