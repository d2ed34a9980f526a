/**
 * The co-signer's operational log. Call sites pass a human message and, optionally, fields an
 * operator filters on (walletId, requestId, code...). A `(line: string) => void` is still a valid
 * log: the fields are an optional second argument, so tests that collect strings keep working.
 *
 * Two formats: 'text' (the default: one human line on stderr, as before; fields are not printed,
 * the message already says what matters) and 'json' (one JSON object per line:
 * `{ time, level, msg, ...fields }`, for log shippers).
 *
 * Checklist item 7, secrets are never logged: fields only take primitives (no objects to smuggle a
 * share through), and a field whose name names a secret (the names the audit log refuses) is
 * redacted rather than written.
 */
import { isSecretFieldName } from '../audit/chain.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFieldValue = string | number | boolean | null | undefined;
/** `level` picks the line's level (default info); everything else is written as is in JSON. */
export type LogFields = { level?: LogLevel } & { [field: string]: LogFieldValue };
/** What the service and its parts log through. */
export type CosignerLog = (msg: string, fields?: LogFields) => void;
export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Field names a JSON line keeps for itself: a call site's field of that name is prefixed instead of overwriting it. */
const RESERVED = new Set(['time', 'level', 'msg']);

/** A log writing one line per call through `write` (the line comes without its newline). */
export function createLog(options: { format: LogFormat; write: (line: string) => void; now?: () => number; prefix?: string }): CosignerLog {
  const now = options.now ?? Date.now;
  if (options.format === 'text') {
    const prefix = options.prefix ?? '';
    return (msg) => options.write(`${prefix}${msg}`);
  }
  return (msg, fields) => options.write(jsonLine(msg, fields, now()));
}

/** One JSON log line (without newline): `{ time, level, msg, ...fields }`, secret-named fields redacted. */
export function jsonLine(msg: string, fields: LogFields | undefined, at: number): string {
  const line: Record<string, LogFieldValue> = { time: new Date(at).toISOString(), level: fields?.level ?? 'info', msg };
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (key === 'level' || value === undefined) continue;
    const name = RESERVED.has(key) ? `field_${key}` : key;
    // Only primitives: anything else (a call site's bug) is written as its type, never serialised.
    const safe = value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : `[${typeof value}]`;
    line[name] = isSecretFieldName(key) ? '[redacted]' : safe;
  }
  return JSON.stringify(line);
}

/** The first line of an error's message: what a log line says about a failure, never a stack or a cause chain. */
export function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
