/** Writes src/mpc/wasm/secp256k1-module.ts from the generator (npm run build:wasm). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { secp256k1ModuleSource } from './wasm/compile.js';

const target = fileURLToPath(new URL('../src/mpc/wasm/secp256k1-module.ts', import.meta.url));
writeFileSync(target, await secp256k1ModuleSource());
process.stdout.write(`wrote ${target}\n`);
