import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** src/mpc must run unchanged in a service worker: Web APIs only, and randomness only from crypto.getRandomValues. */
const root = new URL('.', import.meta.url).pathname;
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('src/mpc portability and hygiene', () => {
  const files = sources(root);
  it('has sources to check', () => expect(files.length).toBeGreaterThan(10));
  it.each(files.map((file) => [file.slice(root.length)]))('%s uses no Node-only API, Math.random or console', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    expect(text).not.toMatch(/from ['"]node:|require\(|\bBuffer\b|\bprocess\./);
    expect(text).not.toMatch(/Math\.random/);
    expect(text).not.toMatch(/console\./);
  });
});
