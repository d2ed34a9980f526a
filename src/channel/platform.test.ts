import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * src/channel must run unchanged in an MV3 service worker and in Node: Web APIs only, randomness
 * only from crypto.getRandomValues, and nothing written to the console.
 * Test files and *.test-support.ts helpers run only under Node and are exempt.
 */
const root = new URL('.', import.meta.url).pathname;
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    const exempt = entry.name.endsWith('.test.ts') || entry.name.endsWith('.test-support.ts');
    return entry.name.endsWith('.ts') && !exempt ? [path] : [];
  });
}

describe('src/channel portability and hygiene', () => {
  const files = sources(root);
  it('has sources to check', () => expect(files.length).toBeGreaterThanOrEqual(10));
  it.each(files.map((file) => [file.slice(root.length)]))('%s uses no Node-only API, Math.random or console', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    expect(text).not.toMatch(/['"]node:/);
    expect(text).not.toMatch(/require\(/);
    expect(text).not.toMatch(/\bBuffer\b/);
    expect(text).not.toMatch(/\bprocess\./);
    expect(text).not.toMatch(/Math\.random/);
    expect(text).not.toMatch(/console\./);
  });
});
