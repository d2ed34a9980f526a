/** JSON over HTTPS to the co-signer, trusting a given CA (the co-signer's own certificate by default). */
import { request } from 'node:https';
import type { HttpErrorBody } from '../channel/enrollment.js';
import { ClientError } from './errors.js';

export async function postJson<T>(baseUrl: string, path: string, body: unknown, options: { caPem?: string; timeoutMs?: number } = {}): Promise<T> {
  const url = new URL(path, baseUrl);
  if (url.protocol !== 'https:') throw new ClientError('CLIENT_USAGE', `The co-signer URL must be https://, got ${baseUrl}.`);
  const payload = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        ...(options.caPem ? { ca: options.caPem } : {}),
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch (cause) {
            reject(new ClientError('CLIENT_HTTP', `The co-signer answered ${res.statusCode} with something that is not JSON.`, { cause }));
            return;
          }
          if (res.statusCode !== 200) {
            const error = (parsed as HttpErrorBody).error;
            reject(new ClientError('CLIENT_HTTP', `The co-signer refused: ${error?.message ?? `HTTP ${res.statusCode}`}`, { details: error?.code }));
            return;
          }
          resolve(parsed as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (cause) => reject(new ClientError('CLIENT_HTTP', `Cannot reach the co-signer at ${baseUrl}: ${cause.message}`, { cause })));
    req.end(payload);
  });
}
