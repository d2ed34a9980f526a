import { DEVICE_ID_PATTERN } from '../../channel/topics.js';
import { canonicalJson, type JsonValue } from '../audit/canonical-json.js';
import { AUDIT_KINDS, type AuditEntry, type AuditHead, type AuditKind, type AuditQuery } from '../audit/types.js';
import { integerFlag, stringValue, walletIdArgument } from './args.js';
import { DATA_DIR_HELP, DATABASE_HELP, type Command, type Values } from './command.js';
import { withReadOnlyAudit } from './data.js';
import { CliUsageError } from './errors.js';
import { table } from './format.js';
import type { CliIo } from './io.js';

const MAX_AUDIT_LIMIT = 10_000;

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  usage: 'audit verify [--expected-head <seq>:<hash>]',
  summary: 'Check the audit hash chain. Opens the database read-only; needs no master key.',
  positionals: [],
  options: { 'data-dir': { type: 'string' }, database: { type: 'string' }, 'expected-head': { type: 'string' } },
  help: [
    ['--expected-head <seq>:<hash>', 'A head printed by an earlier verify and kept elsewhere: also catches a cut-off or rewritten tail.'],
    DATA_DIR_HELP,
    DATABASE_HELP,
  ],
  run: runAuditVerify,
};

export const auditListCommand: Command = {
  name: 'audit list',
  usage: 'audit list [--wallet <id>] [--device <id>] [--kind <kind>] [--limit <n>] [--json]',
  summary: 'Print the newest audit rows, oldest first. Opens the database read-only; needs no master key.',
  positionals: [],
  options: {
    'data-dir': { type: 'string' },
    database: { type: 'string' },
    wallet: { type: 'string' },
    device: { type: 'string' },
    kind: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: [
    ['--wallet <id>', 'Only rows about this wallet.'],
    ['--device <id>', 'Only rows about this device.'],
    ['--kind <kind>', `Only rows of this kind: ${AUDIT_KINDS.join(', ')}.`],
    ['--limit <n>', `How many of the newest rows (default 100, at most ${MAX_AUDIT_LIMIT}).`],
    ['--json', 'Print a JSON array of the rows, with their hashes.'],
    DATA_DIR_HELP,
    DATABASE_HELP,
  ],
  run: runAuditList,
};

async function runAuditVerify(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const expectedHead = headFlag(stringValue(values['expected-head']));
  const result = await withReadOnlyAudit(values, io, (audit) => audit.verify(expectedHead ? { expectedHead } : {}));
  if (!result.ok) {
    io.stderr(`error: audit chain broken at seq ${result.brokenAt}: ${result.reason}`);
    return 1;
  }
  io.stdout(result.head ? `audit chain OK: ${result.rows} rows, head ${result.head.hash} (seq ${result.head.seq})` : 'audit chain OK: 0 rows (the log is empty)');
  return 0;
}

function headFlag(text: string | undefined): AuditHead | undefined {
  if (text === undefined) return undefined;
  const match = /^([0-9]{1,15}):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new CliUsageError('--expected-head is <seq>:<hash>, e.g. 42:9f86d0...; as printed by an earlier verify.', 'audit verify');
  return { seq: Number(match[1]), hash: match[2]! };
}

async function runAuditList(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const query: AuditQuery = {};
  const wallet = stringValue(values.wallet);
  if (wallet !== undefined) query.walletId = walletIdArgument(wallet, 'audit list');
  const device = stringValue(values.device);
  if (device !== undefined) {
    if (!DEVICE_ID_PATTERN.test(device)) throw new CliUsageError(`--device is a device id (32 lowercase hex characters); got ${JSON.stringify(device)}.`, 'audit list');
    query.deviceId = device;
  }
  const kind = stringValue(values.kind);
  if (kind !== undefined) {
    if (!(AUDIT_KINDS as readonly string[]).includes(kind)) throw new CliUsageError(`--kind must be one of ${AUDIT_KINDS.join(', ')}; got ${JSON.stringify(kind)}.`, 'audit list');
    query.kind = kind as AuditKind;
  }
  const limit = stringValue(values.limit);
  if (limit !== undefined) query.limit = integerFlag('--limit', limit, 1, MAX_AUDIT_LIMIT);
  const rows = await withReadOnlyAudit(values, io, (audit) => audit.list(query));
  if (values.json) {
    io.stdout(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    io.stdout('No audit rows match.');
    return 0;
  }
  io.stdout(table(['SEQ', 'AT', 'KIND', 'WALLET', 'SUMMARY'], rows.map(auditRow)));
  return 0;
}

function auditRow(entry: AuditEntry): string[] {
  return [String(entry.seq), entry.at, entry.kind, entry.walletId ?? '-', canonicalJson(entry.summary as JsonValue)];
}
