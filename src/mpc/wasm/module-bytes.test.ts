import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { moduleBytesSource } from '../../../scripts/wasm/compile.js';

describe('module-bytes.ts', () => {
  it('is what the generator builds today (run npm run build:wasm after changing it)', async () => {
    const committed = readFileSync(new URL('./module-bytes.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await moduleBytesSource());
  });
});
