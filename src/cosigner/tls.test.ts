import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureCertificateAuthority, ensureServerCertificate, issueCertificate, spkiHash } from './tls.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-tls-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function opensslSpkiHash(certPath: string): string {
  return execFileSync('sh', ['-c', 'openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64', 'sh', certPath])
    .toString()
    .trim();
}

/**
 * Completes a TLS handshake and reports whether the client trusted the server. With client
 * certificates the verdict is the server's (TLS 1.3 lets the client finish first), so this waits for it.
 */
async function handshake(server: { key: string; cert: string; ca?: string; requestCert?: boolean }, client: { ca: string; key?: string; cert?: string; servername?: string }, host = '127.0.0.1') {
  const mutual = server.requestCert ?? false;
  const tlsServer = createTlsServer({ key: server.key, cert: server.cert, ca: server.ca, requestCert: mutual, rejectUnauthorized: mutual });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const port = (tlsServer.address() as { port: number }).port;
  let socket: TLSSocket | undefined;
  try {
    return await new Promise<{ authorized: boolean }>((resolve, reject) => {
      let clientAuthorized: boolean | undefined;
      let serverAccepted = !mutual;
      const settle = () => {
        if (clientAuthorized !== undefined && serverAccepted) resolve({ authorized: clientAuthorized });
      };
      tlsServer.on('secureConnection', (peer) => {
        peer.end();
        serverAccepted = true;
        settle();
      });
      tlsServer.on('tlsClientError', (error) => reject(error));
      socket = tlsConnect({ host, port, ca: client.ca, key: client.key, cert: client.cert, servername: client.servername }, () => {
        clientAuthorized = socket!.authorized;
        settle();
      });
      socket.on('error', reject);
    });
  } finally {
    socket?.destroy();
    await new Promise((resolve) => tlsServer.close(resolve));
  }
}

describe('ensureServerCertificate', () => {
  it('writes an owner-only EC P-256 key and certificate for 127.0.0.1 and localhost, and reuses them', async () => {
    const dir = await tempDir();
    const first = await ensureServerCertificate(dir, ['127.0.0.1', 'localhost']);
    expect((await stat(first.keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(first.certPath)).mode & 0o777).toBe(0o600);
    const certificate = new X509Certificate(first.certPem);
    expect(certificate.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.checkHost('localhost')).toBe('localhost');
    const second = await ensureServerCertificate(dir, ['127.0.0.1', 'localhost']);
    expect(second.certPem).toBe(first.certPem);
    expect(second.keyPem).toBe(first.keyPem);
  });

  it('re-issues the certificate with the same key when asked for a host it does not cover', async () => {
    const dir = await tempDir();
    const first = await ensureServerCertificate(dir, ['127.0.0.1']);
    const wider = await ensureServerCertificate(dir, ['127.0.0.1', 'cosigner.example']);
    expect(wider.certPem).not.toBe(first.certPem);
    expect(wider.spkiSha256Base64).toBe(first.spkiSha256Base64);
    expect(new X509Certificate(wider.certPem).checkHost('cosigner.example')).toBe('cosigner.example');
  });

  it('reports the SPKI hash exactly as the openssl pipeline for Chromium prints it', async () => {
    const dir = await tempDir();
    const server = await ensureServerCertificate(dir);
    expect(server.spkiSha256Base64).toBe(opensslSpkiHash(server.certPath));
    expect(spkiHash(await readFile(server.certPath, 'utf8'))).toBe(server.spkiSha256Base64);
    expect(server.spkiSha256Base64).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('serves TLS that a client trusting only this certificate accepts, by IP and by name', async () => {
    const server = await ensureServerCertificate(await tempDir());
    expect(await handshake({ key: server.keyPem, cert: server.certPem }, { ca: server.certPem })).toEqual({ authorized: true });
    expect(await handshake({ key: server.keyPem, cert: server.certPem }, { ca: server.certPem, servername: 'localhost' }, 'localhost')).toEqual({ authorized: true });
    const other = await ensureServerCertificate(await tempDir());
    await expect(handshake({ key: server.keyPem, cert: server.certPem }, { ca: other.certPem })).rejects.toThrow();
  });
});

describe('certificate authority', () => {
  it('persists the authority and issues server and client certificates that verify for mutual TLS', async () => {
    const dir = await tempDir();
    const ca = await ensureCertificateAuthority(dir);
    expect(await ensureCertificateAuthority(dir)).toEqual(ca);
    expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    const server = await issueCertificate(ca, { commonName: 'broker', hosts: ['127.0.0.1', 'localhost'], usage: 'server' });
    const client = await issueCertificate(ca, { commonName: 'tandem-cosigner', usage: 'client' });
    expect(new X509Certificate(client.certPem).subject).toBe('CN=tandem-cosigner');
    expect(new X509Certificate(client.certPem).verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    const result = await handshake(
      { key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true },
      { ca: ca.certPem, key: client.keyPem, cert: client.certPem },
    );
    expect(result.authorized).toBe(true);
    const verified = execFileSync('sh', ['-c', 'printf "%s" "$1" > "$3/ca.pem"; printf "%s" "$2" > "$3/leaf.pem"; openssl verify -CAfile "$3/ca.pem" "$3/leaf.pem"', 'sh', ca.certPem, client.certPem, dir]).toString();
    expect(verified).toContain(': OK');
  });

  it('refuses a client certificate from another authority', async () => {
    const ca = await ensureCertificateAuthority(await tempDir());
    const stranger = await ensureCertificateAuthority(await tempDir());
    const server = await issueCertificate(ca, { commonName: 'broker', hosts: ['127.0.0.1'], usage: 'server' });
    const client = await issueCertificate(stranger, { commonName: 'tandem-cosigner', usage: 'client' });
    await expect(
      handshake({ key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true }, { ca: ca.certPem, key: client.keyPem, cert: client.certPem }),
    ).rejects.toThrow();
  });

  it('refuses common names that could inject into a distinguished name', async () => {
    const ca = await ensureCertificateAuthority(await tempDir());
    await expect(issueCertificate(ca, { commonName: 'x,O=evil', usage: 'client' })).rejects.toMatchObject({ code: 'CERTIFICATE' });
  });
});
