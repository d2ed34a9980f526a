import { createHash } from 'node:crypto';
import { AuditError } from '../store/errors.js';
import { canonicalJson, type JsonValue } from './canonical-json.js';
import { AUDIT_KINDS, type AuditKind, type AuditSummaryInput } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);
const CHAIN_TAG = 'tandem/audit/v1';
const MAX_SUMMARY_CHARS = 64 * 1024;

/** Summary keys that name secrets. A summary holding one is refused, not redacted: the caller has a bug. */
const SECRET_KEYS = new Set([
  'share', 'keyshare', 'secretshare', 'secret', 'privatekey', 'masterkey', 'datakey', 'mnemonic', 'seed',
  'password', 'state', 'presignaturestate', 'jwt', 'accesstoken', 'credentials',
]);

/** Whether a field name names a secret (share, state, password...): audit summaries refuse it, log lines redact it. */
export function isSecretFieldName(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase().replace(/[^a-z]/g, ''));
}

export interface ChainedFields {
  prevHash: string;
  seq: number;
  at: string;
  kind: string;
  walletId: string | undefined;
  deviceId: string | undefined;
  summary: JsonValue;
}

export function chainHash(fields: ChainedFields): string {
  const material = canonicalJson([
    CHAIN_TAG,
    fields.prevHash,
    fields.seq,
    fields.at,
    fields.kind,
    fields.walletId ?? null,
    fields.deviceId ?? null,
    fields.summary,
  ]);
  return createHash('sha256').update(material, 'utf8').digest('hex');
}

/** Canonical text of a summary, after refusing secrets, oversize and values JSON cannot hold. */
export function canonicalSummary(summary: AuditSummaryInput | undefined): string {
  const input = summary ?? {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AuditError('AUDIT_BAD_ENTRY', 'An audit summary is a plain object.');
  }
  refuseSecretKeys(input, 'summary');
  let text: string;
  try {
    text = canonicalJson(input);
  } catch (cause) {
    throw new AuditError('AUDIT_BAD_ENTRY', 'An audit summary holds a value JSON cannot represent.', (cause as Error).message);
  }
  if (text.length > MAX_SUMMARY_CHARS) {
    throw new AuditError('AUDIT_BAD_ENTRY', `An audit summary is limited to ${MAX_SUMMARY_CHARS} characters; this one has ${text.length}. Summarise it.`);
  }
  return text;
}

export function checkKind(kind: unknown): AuditKind {
  if (typeof kind !== 'string' || !(AUDIT_KINDS as readonly string[]).includes(kind)) {
    throw new AuditError('AUDIT_BAD_ENTRY', `Unknown audit kind ${JSON.stringify(kind)}. Known kinds: ${AUDIT_KINDS.join(', ')}.`);
  }
  return kind as AuditKind;
}

function refuseSecretKeys(value: unknown, path: string, depth = 0): void {
  if (depth > 32 || typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => refuseSecretKeys(item, `${path}[${index}]`, depth + 1));
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    if (isSecretFieldName(key)) {
      throw new AuditError('AUDIT_SECRET_FIELD', `Audit summaries never hold secrets, but ${path}.${key} names one. Remove it from the summary.`);
    }
    refuseSecretKeys(item, `${path}.${key}`, depth + 1);
  }
}
