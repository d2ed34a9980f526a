/**
 * The co-signer's command line (`npm run cosigner -- <command>`).
 *
 * `start` (the default) runs the service; `wallets`, `policy`, `devices`, `approvers`, `requests` and
 * `audit` are the operator's tools.
 * They open the same SQLite file as a running co-signer (WAL lets both work at once). `audit`
 * opens it read-only and needs no master key, so whoever checks the log never holds the key.
 *
 * Heavy modules (the service, the store, viem) are imported inside the commands that use them:
 * viem alone takes about a second to load here, which `audit verify` has no reason to pay.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli/run.js';

export { CliUsageError, CosignerCliError } from './cli/errors.js';
export type { CliIo } from './cli/io.js';
export { runCli };

function isMainModule(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  const code = await runCli(process.argv.slice(2));
  // Exit explicitly: a stopped service may leave a timer or socket behind that would keep the process up.
  process.exit(code);
}
