/**
 * The PostgreSQL connection pool and the transactions the store runs on it. Statements are
 * written with `?` placeholders, as for SQLite, and numbered ($1, $2...) here; values always
 * travel as parameters, never inside the SQL text.
 */
import pg from 'pg';

export type Param = string | number | bigint | Uint8Array | null;

const INT8_OID = 20;

/**
 * BIGINT columns (milliseconds, seq, count(*)) come back as JS numbers, like SQLite's integers:
 * every one the store writes is a safe integer. Wei amounts are NUMERIC and stay strings.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return (text: string) => Number(text);
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

export function createPool(connectionString: string, options: { max?: number; readOnly?: boolean } = {}): pg.Pool {
  return new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    types,
    application_name: 'tandem-cosigner',
    // The operator's read-only commands (audit) cannot write, whatever their SQL.
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
}

/** `?` → `$n`. The store's SQL never holds a literal question mark. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${(n += 1)}`);
}

/**
 * Every statement of the store is named, so each connection has PostgreSQL parse and plan it once
 * instead of on every call: about a dozen statements run per signature. The store's SQL is a fixed
 * set of texts; should a caller ever build unbounded variants, those past the cap run unnamed.
 */
const MAX_NAMED_STATEMENTS = 1000;
const namedStatements = new Map<string, { name: string; text: string }>();

function statement(sql: string, params: Param[]): pg.QueryConfig {
  let named = namedStatements.get(sql);
  if (!named && namedStatements.size < MAX_NAMED_STATEMENTS) {
    named = { name: `tandem_${namedStatements.size + 1}`, text: numbered(sql) };
    namedStatements.set(sql, named);
  }
  return named ? { name: named.name, text: named.text, values: values(params) } : { text: numbered(sql), values: values(params) };
}

function values(params: Param[]): unknown[] {
  return params.map((value) => (typeof value === 'bigint' ? value.toString(10) : value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value) : value));
}

/** One connection, inside a transaction or not: what every query of the store goes through. */
export class Session {
  constructor(readonly client: pg.ClientBase | pg.Pool) {}

  async run(sql: string, ...params: Param[]): Promise<number> {
    const result = await this.client.query(statement(sql, params));
    return result.rowCount ?? 0;
  }

  async get<T>(sql: string, ...params: Param[]): Promise<T | undefined> {
    const result = await this.client.query(statement(sql, params));
    return result.rows[0] as T | undefined;
  }

  async all<T>(sql: string, ...params: Param[]): Promise<T[]> {
    const result = await this.client.query(statement(sql, params));
    return result.rows as T[];
  }
}

/** Deadlock and serialization failure: PostgreSQL rolled the transaction back, and running it again is safe. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 5;

/**
 * Runs `body` in one READ COMMITTED transaction on its own connection: committed when it returns,
 * rolled back when it throws. Rolled back by the server for a deadlock, it runs again from the start.
 */
export async function transaction<T>(pool: pg.Pool, body: (session: Session) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const client = await pool.connect();
    try {
      await client.query(options.readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN ISOLATION LEVEL READ COMMITTED');
    } catch (error) {
      client.release(true);
      throw error;
    }
    try {
      const result = await body(new Session(client));
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
        client.release();
      } catch {
        // A connection whose state is unknown is closed, not reused.
        client.release(true);
      }
      if (attempt < MAX_ATTEMPTS && RETRYABLE.has((error as { code?: string }).code ?? '')) continue;
      throw error;
    }
  }
}
