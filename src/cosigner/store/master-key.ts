import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { MasterKeyError } from './errors.js';
import { databasePath, generatedMasterKeyPath } from './paths.js';

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_ENV = 'TANDEM_MASTER_KEY';

export type MasterKeySource = 'env' | 'file' | 'generated';

/** The key that wraps every record's data key. Hold it only in memory; print `keyId`, never `bytes`. */
export interface MasterKey {
  readonly bytes: Uint8Array;
  /** Public, stable name of this key (HMAC of a constant under it): tells which key sealed a database. */
  readonly keyId: string;
  readonly source: MasterKeySource;
  /** The file it came from or was generated into. */
  readonly path?: string;
}

export interface LoadMasterKeyOptions {
  /** The co-signer's data directory: where a generated key goes when none is supplied. */
  dataDir: string;
  /** A file holding the key (32 raw bytes, or 64 hex characters, or base64). */
  keyFile?: string;
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Where the first-run warning goes. Defaults to stderr. */
  warn?: (text: string) => void;
}

/**
 * Loads the master key: from TANDEM_MASTER_KEY, or from `keyFile`, or from `<dataDir>/master.key`.
 * When there is none and the data directory holds no database yet, generates one into
 * `<dataDir>/master.key` (mode 0600) and warns loudly.
 */
export function loadMasterKey(options: LoadMasterKeyOptions): MasterKey {
  const env = options.env ?? process.env;
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '' && options.keyFile !== undefined) {
    throw new MasterKeyError(
      'MASTER_KEY_AMBIGUOUS',
      `Both ${MASTER_KEY_ENV} and a master key file are set. Supply the master key one way only.`,
    );
  }
  if (fromEnv !== undefined && fromEnv !== '') {
    return masterKeyFromBytes(decodeKeyText(fromEnv, `the ${MASTER_KEY_ENV} environment variable`), 'env');
  }
  if (options.keyFile !== undefined) {
    const path = resolve(options.keyFile);
    const bytes = readKeyFile(path);
    if (!bytes) throw new MasterKeyError('MASTER_KEY_UNREADABLE', `The master key file ${path} does not exist.`);
    return masterKeyFromBytes(bytes, 'file', path);
  }
  const path = resolve(generatedMasterKeyPath(options.dataDir));
  const existing = readKeyFile(path);
  if (existing) return masterKeyFromBytes(existing, 'file', path);
  // A new key could not open the existing data; generating one would only hide the real problem.
  if (existsSync(databasePath(options.dataDir))) {
    throw new MasterKeyError(
      'MASTER_KEY_MISSING',
      `${databasePath(options.dataDir)} exists but no master key was supplied. Set ${MASTER_KEY_ENV} or pass the key file that encrypted it; a new key could not decrypt its shares.`,
    );
  }
  return generateMasterKey(path, options.dataDir, options.warn ?? ((text) => process.stderr.write(text)));
}

export function masterKeyFromBytes(bytes: Uint8Array, source: MasterKeySource, path?: string): MasterKey {
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new MasterKeyError('MASTER_KEY_WRONG_LENGTH', `A master key must be ${MASTER_KEY_BYTES} bytes; this one has ${bytes.length}.`);
  }
  const copy = Uint8Array.from(bytes);
  return { bytes: copy, keyId: masterKeyId(copy), source, ...(path === undefined ? {} : { path }) };
}

/** 16 hex characters that name the key without revealing anything about it. */
export function masterKeyId(bytes: Uint8Array): string {
  return createHmac('sha256', bytes).update('tandem/master-key-id/v1').digest('hex').slice(0, 16);
}

function readKeyFile(path: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MasterKeyError('MASTER_KEY_UNREADABLE', `Cannot open the master key file ${path}.`, { cause });
  }
  try {
    // fstat on the opened descriptor, so the checked file is the file read.
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new MasterKeyError('MASTER_KEY_UNREADABLE', `The master key path ${path} is not a regular file.`);
    if (process.platform !== 'win32' && (stat.mode & 0o007) !== 0) {
      throw new MasterKeyError(
        'MASTER_KEY_INSECURE_FILE',
        `The master key file ${path} is accessible to every user (mode ${(stat.mode & 0o777).toString(8)}). Restrict it with \`chmod 600 ${path}\` and start again.`,
      );
    }
    const raw = readFileSync(fd);
    if (raw.length === MASTER_KEY_BYTES) return new Uint8Array(raw);
    return decodeKeyText(raw.toString('utf8'), `the master key file ${path}`);
  } finally {
    closeSync(fd);
  }
}

/** Hex (64 characters, optional 0x) or base64/base64url of exactly 32 bytes. */
function decodeKeyText(text: string, where: string): Uint8Array {
  const trimmed = text.trim();
  const hex = trimmed.startsWith('0x') ? trimmed.slice(2) : trimmed;
  if (/^[0-9a-fA-F]+$/.test(hex) && hex.length % 2 === 0) {
    const bytes = Buffer.from(hex, 'hex');
    checkLength(bytes.length, where);
    return new Uint8Array(bytes);
  }
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
    checkLength(bytes.length, where);
    return new Uint8Array(bytes);
  }
  throw new MasterKeyError(
    'MASTER_KEY_BAD_ENCODING',
    `The master key in ${where} is neither hex nor base64. Supply ${MASTER_KEY_BYTES} random bytes, e.g. from \`openssl rand -hex 32\`.`,
  );
}

function checkLength(length: number, where: string): void {
  if (length !== MASTER_KEY_BYTES) {
    throw new MasterKeyError(
      'MASTER_KEY_WRONG_LENGTH',
      `The master key in ${where} decodes to ${length} bytes; it must be ${MASTER_KEY_BYTES}. Generate one with \`openssl rand -hex 32\`.`,
    );
  }
}

function generateMasterKey(path: string, dataDir: string, warn: (text: string) => void): MasterKey {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const bytes = new Uint8Array(randomBytes(MASTER_KEY_BYTES));
  let fd: number;
  try {
    // O_EXCL: if another process generated one meanwhile, use theirs rather than overwrite it.
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      const theirs = readKeyFile(path);
      if (theirs) return masterKeyFromBytes(theirs, 'file', path);
    }
    throw new MasterKeyError('MASTER_KEY_UNREADABLE', `Cannot create the master key file ${path}.`, { cause });
  }
  try {
    writeSync(fd, `${Buffer.from(bytes).toString('hex')}\n`);
  } finally {
    closeSync(fd);
  }
  const key = masterKeyFromBytes(bytes, 'generated', path);
  bytes.fill(0);
  warn(generatedKeyWarning(path, key.keyId));
  return key;
}

function generatedKeyWarning(path: string, keyId: string): string {
  const bar = '!'.repeat(78);
  return [
    '',
    bar,
    '!!  WARNING: NO MASTER KEY WAS SUPPLIED, SO A NEW ONE WAS GENERATED.',
    `!!  It is in ${path} (key id ${keyId}).`,
    '!!',
    '!!  Every key share this co-signer stores is encrypted under this master key.',
    '!!  LOSE IT AND EVERY SHARE IS LOST; anyone who copies it with the database',
    '!!  can decrypt every share.',
    '!!',
    '!!  Back it up now, then move it into a secret manager and supply it through',
    `!!  ${MASTER_KEY_ENV} (hex or base64) or a key file, and delete this file.`,
    bar,
    '',
    '',
  ].join('\n');
}
