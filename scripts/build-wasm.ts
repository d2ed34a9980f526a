/** Writes src/mpc/wasm/module-bytes.ts from the generator (npm run build:wasm). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { moduleBytesSource } from './wasm/compile.js';

const target = fileURLToPath(new URL('../src/mpc/wasm/module-bytes.ts', import.meta.url));
writeFileSync(target, await moduleBytesSource());
process.stdout.write(`wrote ${target}\n`);
