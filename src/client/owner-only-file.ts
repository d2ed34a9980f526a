import { readFileSync, statSync } from 'node:fs';
import { ClientError } from './errors.js';

/**
 * Reads a file that holds a secret (a wallet or approver file): refused when others may read it,
 * and a missing file says how to make one. `what` names it in messages ("wallet file").
 */
export function readOwnerOnlyFile(path: string, what: string, whenMissing: string): string {
  try {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new ClientError('CLIENT_FILE_PERMISSIONS', `The ${what} ${path} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it.`);
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ClientError) throw error;
    throw new ClientError('CLIENT_FILE_MISSING', `No ${what} at ${path}. ${whenMissing}`, { cause: error });
  }
}
