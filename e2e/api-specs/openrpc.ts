/**
 * MetaMask's `@metamask/api-specs` OpenRPC document, read for e2e/api-specs.spec.ts: its methods and their
 * examples, a JSON-schema check of a result against the method's result schema (ajv), and the printed table.
 *
 * Why not `@open-rpc/test-coverage`: it takes a transport (HTTP, WebSocket, postMessage, or a custom function) and
 * rules; its examples rule sends each example's params as given and compares the result with the example's value,
 * and its other rules fill params from the schemas with fake data. Tandem's provider lives in a page of a real
 * Chromium with the extension loaded; half of the methods wait for a click in an approval popup; the methods depend
 * on each other's state (connect before signing, a mined transaction before reading it back; the tool starts its
 * calls per method without such an order); and most example values (MetaMask's test accounts, mainnet blocks,
 * chain 0x1, signatures under MetaMask's key) cannot hold for any other wallet. A custom transport plus custom rules
 * would be this runner again, inside a framework. So this small runner sends each example through the page's
 * EIP-6963 provider in order, answers popups, and checks the result against the method's result schema, plus the
 * literal value or a stronger semantic check where one can hold (see the plan per method in the spec).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

export interface OpenRpcExample {
  name: string;
  params: { name: string; value: unknown }[];
  result?: { name: string; value: unknown };
}

export interface OpenRpcMethod {
  name: string;
  paramStructure?: 'by-name' | 'by-position' | 'either';
  params: { name?: string; $ref?: string }[];
  result: { name: string; schema: Record<string, unknown> };
  examples?: OpenRpcExample[];
}

export interface OpenRpcDocument {
  openrpc: string;
  info: { title: string; version: string };
  methods: OpenRpcMethod[];
  components: { schemas: Record<string, unknown> };
}

const SPEC_PACKAGE = '@metamask/api-specs';

export function loadMetaMaskOpenRpc(): { document: OpenRpcDocument; packageVersion: string } {
  const require = createRequire(import.meta.url);
  const document = JSON.parse(readFileSync(require.resolve(`${SPEC_PACKAGE}/dist/build/openrpc.json`), 'utf8')) as OpenRpcDocument;
  const packageVersion = (JSON.parse(readFileSync(require.resolve(`${SPEC_PACKAGE}/package.json`), 'utf8')) as { version: string }).version;
  return { document, packageVersion };
}

/** The example's params as the request's `params`: an object for `by-name` methods, else a positional array. */
export function exampleParams(method: OpenRpcMethod, example: OpenRpcExample): unknown {
  if (method.paramStructure === 'by-name') return Object.fromEntries(example.params.map((param) => [param.name, param.value]));
  return example.params.map((param) => param.value);
}

const COMPONENTS_ID = 'metamask-openrpc-components';

/**
 * Checks results against the methods' result schemas. The schemas `$ref` `#/components/schemas/...` of the
 * OpenRPC document, so the components are registered once under an id and the refs rewritten to point there.
 */
export class ResultSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly methods = new Map<string, OpenRpcMethod>();

  constructor(document: OpenRpcDocument) {
    this.ajv.addSchema(rewriteRefs({ $id: COMPONENTS_ID, components: document.components }) as object);
    for (const method of document.methods) this.methods.set(method.name, method);
  }

  /**
   * undefined when `value` matches the method's result schema, else ajv's errors as one line. `adjust` changes a
   * copy of the schema first, where a plan documents a deliberate deviation.
   */
  check(methodName: string, value: unknown, adjust?: (schema: Record<string, unknown>) => Record<string, unknown>): string | undefined {
    const key = adjust ? `${methodName} (adjusted)` : methodName;
    let validate = this.compiled.get(key);
    if (!validate) {
      const method = this.methods.get(methodName);
      if (!method) throw new Error(`${methodName} is not in the OpenRPC document.`);
      const schema = structuredClone(method.result.schema);
      validate = this.ajv.compile(rewriteRefs(adjust ? adjust(schema) : schema) as object);
      this.compiled.set(key, validate);
    }
    if (validate(value)) return undefined;
    // One line, each distinct error once, naming the extra property where that is the complaint.
    const messages = (validate.errors ?? []).map((error) => {
      const extra = (error.params as { additionalProperty?: string }).additionalProperty;
      return `result${error.instancePath} ${error.message ?? ''}${extra ? ` (${extra})` : ''}`;
    });
    return [...new Set(messages)].join('; ');
  }
}

function rewriteRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/components/', `"$ref":"${COMPONENTS_ID}#/components/`));
}

// ---- The table

export interface MethodRow {
  method: string;
  examples: number;
  run: number;
  passed: number;
  skipped: number;
  /**
   * Examples of read-only methods where Tandem's answer is exactly the chain node's own answer to the same
   * request, and that answer deviates from the result schema (or the node does not implement the method): the
   * deviation is the node's (hardhat 2 here), which Tandem passes through unchanged, as a wallet must.
   */
  node: number;
  /** The check that applied, or why the method (or some of its examples) was skipped. */
  note: string;
  failures: string[];
}

const NUMERIC = 6;

export function formatTable(rows: MethodRow[]): string {
  const header = ['method', 'examples', 'run', 'passed', 'skipped', 'node≠spec', 'check / skip reason'];
  const cells = rows.map((row) => [row.method, String(row.examples), String(row.run), String(row.passed), String(row.skipped), String(row.node), row.note]);
  const widths = header.slice(0, NUMERIC).map((title, column) => Math.max(title.length, ...cells.map((cell) => cell[column]!.length)));
  const line = (values: string[]) => values.map((value, column) => (column < NUMERIC ? value.padEnd(widths[column]!) : value)).join(' | ');
  const out = [line(header), [...widths, 20].map((width) => '-'.repeat(width)).join('-|-'), ...cells.map(line)];
  for (const row of rows) for (const failure of row.failures) out.push(`FAIL ${row.method}: ${failure}`);
  return out.join('\n');
}
