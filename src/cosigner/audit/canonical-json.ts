/**
 * Canonical JSON: object keys sorted by UTF-16 code units (as RFC 8785 does), no whitespace,
 * numbers in ECMAScript's shortest form. Hand-written because no installed library does it and
 * the audit chain's hashes must not depend on key insertion order.
 *
 * Also accepted, for convenience: bigint (written as a decimal string) and undefined object
 * values (omitted). Anything else that JSON cannot represent faithfully is refused.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = 32;

export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new TypeError(`Canonical JSON refuses nesting deeper than ${MAX_DEPTH} (or a cycle).`);
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Canonical JSON refuses the number ${value}.`);
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString(10));
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        return `[${value.map((item) => {
          if (item === undefined) throw new TypeError('Canonical JSON refuses undefined inside an array.');
          return write(item, depth + 1);
        }).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`Canonical JSON accepts only plain objects, not ${proto?.constructor?.name ?? 'this object'}.`);
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${write(item, depth + 1)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`Canonical JSON refuses a ${typeof value}.`);
  }
}
