import type Database from 'better-sqlite3';

export type Param = string | number | bigint | Uint8Array | null;

/** The prepared statements of one connection, each prepared once and reused. */
export class Statements {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Database.Statement<Param[], unknown>>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  run(sql: string, ...params: Param[]): Database.RunResult {
    return this.#prepared(sql).run(...params);
  }

  get<T>(sql: string, ...params: Param[]): T | undefined {
    return this.#prepared(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: Param[]): T[] {
    return this.#prepared(sql).all(...params) as T[];
  }

  #prepared(sql: string): Database.Statement<Param[], unknown> {
    let statement = this.#cache.get(sql);
    if (!statement) {
      statement = this.#db.prepare<Param[], unknown>(sql);
      this.#cache.set(sql, statement);
    }
    return statement;
  }
}
