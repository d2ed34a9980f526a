/** JSON over HTTPS to the co-signer with fetch (the browser's trust store decides about its certificate). */
import type { PostJson } from '../channel/device-session.js';
import type { HttpErrorBody } from '../channel/enrollment.js';
import { WalletError } from './errors.js';

const TIMEOUT_MS = 15_000;

export const postJson: PostJson = async <T>(baseUrl: string, path: string, body: unknown): Promise<T> => {
  const url = new URL(path, baseUrl);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
      credentials: 'omit',
    });
  } catch (cause) {
    throw new WalletError('COSIGNER_UNREACHABLE', `Cannot reach the co-signer at ${url.origin}. Check the URL and that it is running (and that this browser trusts its certificate).`, { cause });
  }
  const parsed = (await response.json().catch(() => undefined)) as unknown;
  if (!response.ok) {
    const error = (parsed as HttpErrorBody | undefined)?.error;
    throw new WalletError('COSIGNER_HTTP', `The co-signer refused: ${error?.message ?? `HTTP ${response.status}`}`, { details: error?.code });
  }
  if (parsed === undefined) throw new WalletError('COSIGNER_HTTP', `The co-signer answered ${response.status} with something that is not JSON.`);
  return parsed as T;
};
