/**
 * TLS material for the co-signer's brokers: a self-signed server certificate for the embedded
 * broker (trusted by Chromium through its SPKI hash), and a small certificate authority that
 * issues server and client certificates for Mosquitto's mutual TLS.
 *
 * Keys are EC P-256, created with WebCrypto and written owner-only (0600). A server key is kept
 * across certificate renewals, so the SPKI hash a browser was told to trust stays valid.
 */
import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type * as X509 from '@peculiar/x509';
import { CertificateError } from './broker/errors.js';
import { ensurePrivateDirectory, readTextIfExists, writePrivateFile, writePrivateFileOnce } from './broker/private-files.js';
import { loadX509 } from './broker/x509-loader.js';

export const DEFAULT_SERVER_HOSTS: readonly string[] = ['127.0.0.1', 'localhost'];

const EC_KEY: EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: EcdsaParams & EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
/** A certificate closer than this to its end is re-issued on the next start. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Tolerates clocks that run a little behind ours. */
const BACKDATE_MS = 60 * 60 * 1000;

export interface KeyAndCertificate {
  keyPem: string;
  certPem: string;
}

export interface ServerCertificate extends KeyAndCertificate {
  /** base64 SHA-256 of the certificate's SubjectPublicKeyInfo: Chromium's `--ignore-certificate-errors-spki-list`. */
  spkiSha256Base64: string;
  keyPath: string;
  certPath: string;
}

export type CertificateAuthority = KeyAndCertificate;

export interface CertificateRequest {
  /** Letters, digits, '.', '_' and '-' only. For a client certificate this becomes its Mosquitto username. */
  commonName: string;
  /** DNS names and IP addresses the certificate is valid for (server certificates). */
  hosts?: readonly string[];
  usage: 'server' | 'client';
  validityDays?: number;
}

/** base64(SHA-256(DER SubjectPublicKeyInfo)) of a PEM certificate, as `openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64` prints it. */
export function spkiHash(certPem: string): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (cause) {
    throw new CertificateError('This is not a PEM certificate.', { cause });
  }
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * Loads the embedded broker's server key and certificate from `dir`, creating them on first run.
 * The certificate is re-issued (same key) when it nears its end or does not cover `hosts`.
 */
export async function ensureServerCertificate(dir: string, hosts: readonly string[] = DEFAULT_SERVER_HOSTS): Promise<ServerCertificate> {
  if (hosts.length === 0) throw new CertificateError('A server certificate needs at least one host name or IP address.');
  await ensurePrivateDirectory(dir);
  const keyPath = join(dir, 'server-key.pem');
  const certPath = join(dir, 'server-cert.pem');

  const keyPem = await loadOrCreateKey(keyPath);
  const existing = await readTextIfExists(certPath);
  if (existing !== undefined && certificateStillServes(existing, keyPem, hosts)) {
    return { keyPem, certPem: existing, spkiSha256Base64: spkiHash(existing), keyPath, certPath };
  }
  const keys = await importKeyPair(keyPem);
  const x509 = await loadX509();
  const subject = `CN=${commonNameFor(hosts[0]!)}`;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject,
    issuer: subject,
    ...validity(365),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(subjectAltNames(hosts)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = certificate.toString('pem') + '\n';
  await writePrivateFile(certPath, certPem);
  return { keyPem, certPem, spkiSha256Base64: spkiHash(certPem), keyPath, certPath };
}

/** Loads the certificate authority in `dir` (`ca-key.pem`, `ca-cert.pem`), creating it on first run. */
export async function ensureCertificateAuthority(dir: string, options: { commonName?: string } = {}): Promise<CertificateAuthority> {
  await ensurePrivateDirectory(dir);
  const keyPath = join(dir, 'ca-key.pem');
  const certPath = join(dir, 'ca-cert.pem');
  const keyPem = await loadOrCreateKey(keyPath);
  const existing = await readTextIfExists(certPath);
  if (existing !== undefined) {
    if (!certificateMatchesKey(existing, keyPem)) {
      throw new CertificateError(`The CA certificate does not belong to the CA key in ${dir}.`, {
        details: 'Restore the matching pair or delete both files to create a new authority (every issued certificate must then be re-issued).',
      });
    }
    return { keyPem, certPem: existing };
  }
  const keys = await importKeyPair(keyPem);
  const x509 = await loadX509();
  const subject = `CN=${checkedCommonName(options.commonName ?? 'Tandem co-signer CA')}`;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject,
    issuer: subject,
    ...validity(3650),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = certificate.toString('pem') + '\n';
  if (!(await writePrivateFileOnce(certPath, certPem))) {
    // another process created the authority at the same moment; use theirs
    return ensureCertificateAuthority(dir, options);
  }
  return { keyPem, certPem };
}

/** Issues a fresh key and certificate signed by `ca`. Nothing is written: the caller stores the pair where it belongs. */
export async function issueCertificate(ca: CertificateAuthority, request: CertificateRequest): Promise<KeyAndCertificate> {
  const x509 = await loadX509();
  const caKeys = await importKeyPair(ca.keyPem);
  let caCertificate: X509.X509Certificate;
  try {
    caCertificate = new x509.X509Certificate(ca.certPem);
  } catch (cause) {
    throw new CertificateError('The CA certificate cannot be read.', { cause });
  }
  const hosts = request.hosts ?? [];
  if (request.usage === 'server' && hosts.length === 0) {
    throw new CertificateError('A server certificate needs at least one host name or IP address.');
  }
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([request.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
  ];
  if (hosts.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(subjectAltNames(hosts)));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: `CN=${checkedCommonName(request.commonName)}`,
    issuer: caCertificate.subject,
    ...validity(request.validityDays ?? 365),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    extensions,
  });
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), certPem: certificate.toString('pem') + '\n' };
}

async function loadOrCreateKey(path: string): Promise<string> {
  const existing = await readTextIfExists(path);
  if (existing !== undefined) {
    checkP256PrivateKey(existing, path);
    return existing;
  }
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pem = await exportPrivateKeyPem(keys.privateKey);
  if (!(await writePrivateFileOnce(path, pem))) return loadOrCreateKey(path);
  return pem;
}

function checkP256PrivateKey(pem: string, path: string): void {
  let curve: string | undefined;
  try {
    const key = createPrivateKey(pem);
    curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  } catch (cause) {
    throw new CertificateError(`The private key in ${path} cannot be read.`, { details: 'Restore it, or delete it to create a new one.', cause });
  }
  if (curve !== 'prime256v1') {
    throw new CertificateError(`The private key in ${path} is not an EC P-256 key.`, { details: 'Delete it to create a new one.' });
  }
}

async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function importKeyPair(keyPem: string): Promise<CryptoKeyPair> {
  const privateKeyObject = createPrivateKey(keyPem);
  const pkcs8 = privateKeyObject.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(privateKeyObject).export({ type: 'spki', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_KEY, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, EC_KEY, true, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}

function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  try {
    const fromCert = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    return fromCert.equals(fromKey);
  } catch {
    return false;
  }
}

function certificateStillServes(certPem: string, keyPem: string, hosts: readonly string[]): boolean {
  if (!certificateMatchesKey(certPem, keyPem)) return false;
  const certificate = new X509Certificate(certPem);
  if (Date.parse(certificate.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  return hosts.every((host) =>
    isIP(host) ? certificate.checkIP(host) !== undefined : certificate.checkHost(host, { wildcards: false }) !== undefined,
  );
}

function subjectAltNames(hosts: readonly string[]): X509.JsonGeneralName[] {
  return hosts.map((host) => {
    if (isIP(host)) return { type: 'ip', value: host } as const;
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) throw new CertificateError(`Not a host name: ${JSON.stringify(host)}.`);
    return { type: 'dns', value: host } as const;
  });
}

function commonNameFor(host: string): string {
  return checkedCommonName(host.replace(/[^A-Za-z0-9._-]/g, '-'));
}

function checkedCommonName(name: string): string {
  if (!/^[A-Za-z0-9._ -]{1,64}$/.test(name)) {
    throw new CertificateError(`Not a usable certificate common name: ${JSON.stringify(name)}.`, {
      details: 'Use 1-64 letters, digits, spaces, ".", "_" or "-".',
    });
  }
  return name;
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1) throw new CertificateError(`A certificate must be valid for a whole number of days, not ${days}.`);
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** 16 random bytes, high bit clear so the DER integer is positive. */
function randomSerialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}
