import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { secp256k1ModuleSource } from '../../../scripts/wasm/compile.js';

describe('secp256k1-module.ts', () => {
  it('is what the generator builds today (run npm run build:wasm after changing it)', async () => {
    const committed = readFileSync(new URL('./secp256k1-module.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await secp256k1ModuleSource());
  });
});
