import { MASTER_KEY_ENV } from '../store/master-key.js';
import type { CliIo } from './io.js';

export const PROGRAM = 'npm run cosigner --';
export const DEFAULT_DATA_DIR = './.tandem/cosigner';
export const DATA_DIR_ENV = 'TANDEM_DATA_DIR';

export type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  /** As typed: 'start', 'policy set', ... */
  name: string;
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** Each line of the help's option list: [flag, what it does]. */
  help: [string, string][];
  positionals: string[];
  run(values: Values, positionals: string[], io: CliIo): Promise<number>;
}

export const DATA_DIR_HELP: [string, string] = ['--data-dir <dir>', `Data directory (default $${DATA_DIR_ENV} or ${DEFAULT_DATA_DIR}).`];
export const MASTER_KEY_HELP: [string, string] = [
  '--master-key-file <file>',
  `File holding the 32-byte master key (0600). Otherwise $${MASTER_KEY_ENV}, else <data-dir>/master.key.`,
];
export const DATABASE_HELP: [string, string] = [
  '--database <postgres://...>',
  'A PostgreSQL database (postgres:// or postgresql:// URL) instead of SQLite in the data directory; the master key still comes from the data directory or $TANDEM_MASTER_KEY.',
];
export const STORE_OPTIONS: Record<string, OptionSpec> = { 'data-dir': { type: 'string' }, 'master-key-file': { type: 'string' }, database: { type: 'string' } };
