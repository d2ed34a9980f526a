/**
 * Enrollment and token renewal, over HTTPS to the co-signer: the shapes both sides use and the
 * exact bytes a device signs to prove it holds its identity key. A proof answers a fresh,
 * single-use challenge from the co-signer, so a recorded proof cannot be replayed.
 */
import { bytesToHex, concatBytes, hexToBytes } from '../mpc/bytes.js';
import type { Identity } from './identity.js';
import { taggedHash } from '../mpc/hash.js';
import { sharePossessionContext } from '../mpc/share-proof.js';

export const ENROLL_PATH = '/v1/enroll';
export const TOKEN_PATH = '/v1/token';
export const CHALLENGE_PATH = '/v1/challenge';
export const HEALTH_PATH = '/v1/health';
/** Where an approver enrolls with the one-time code the operator gave it. */
export const APPROVER_ENROLL_PATH = '/v1/approvers/enroll';

export interface ChallengeResponse {
  challenge: string;
  expiresAt: number;
}

export interface EnrollRequest {
  identityPublicKey: string;
  challenge: string;
  /** Identity signature (domain 'enroll') over enrollProofMessage(). */
  signature: string;
  /** [1, 2] for a 2-of-2 wallet, [1, 2, 3] for a 2-of-3 one. */
  parties: number[];
  enrollmentCode?: string;
  /**
   * Enroll into an existing wallet to restore it from its recovery kit: the device may then only
   * run the restore. The address guards against a mistyped id. `backupProof` (hex) proves the
   * backup share of that `generation` (see restoreEnrollContext), so nobody without the kit can
   * enroll, or cancel a restore under way by enrolling another.
   */
  restore?: { walletId: string; address: string; generation: number; backupProof: string };
}

export interface BrokerCredentials {
  /** MQTT username: the device id (or the approver id). */
  username: string;
  /** Short-lived token, sent as the MQTT password. */
  token: string;
  tokenExpiresAt: number;
  clientId: string;
}

export interface EnrollResponse extends BrokerCredentials {
  deviceId: string;
  walletId: string;
  brokerUrl: string;
  /** The co-signer's identity key (33 bytes hex): pin it. */
  cosignerIdentity: string;
  /** PEM of the CA that signs the broker's certificate, when it is not the co-signer's own or a public one. */
  brokerCaPem?: string;
}

/**
 * An approver's enrollment: its own identity key (never a wallet device's), a proof that it holds
 * it, and the one-time code from `approvers invite`. Its approver id is deviceIdFromPublicKey(key).
 */
export interface ApproverEnrollRequest {
  identityPublicKey: string;
  challenge: string;
  /** Identity signature (domain 'enroll') over approverEnrollProofMessage(). */
  signature: string;
  enrollmentCode: string;
}

/** The approver's broker credentials (username = approver id, client id = approverClientId) and what it pins. */
export interface ApproverEnrollResponse extends BrokerCredentials {
  approverId: string;
  /** The name the operator invited this approver under. */
  name: string;
  brokerUrl: string;
  /** The co-signer's identity key (33 bytes hex): pin it. */
  cosignerIdentity: string;
  brokerCaPem?: string;
}

export interface TokenRequest {
  /** The device id, or an approver's id: both renew here, each proving its own identity key. */
  deviceId: string;
  challenge: string;
  /** Identity signature (domain 'token') over tokenProofMessage(). */
  signature: string;
}

export type TokenResponse = BrokerCredentials;

/** An error body from the co-signer's HTTP API. */
export interface HttpErrorBody {
  error: { code: string; message: string; retryAfterMs?: number };
}

export function enrollProofMessage(challenge: string, identityPublicKey: string, parties: number[], restore?: Pick<NonNullable<EnrollRequest['restore']>, 'walletId' | 'address'>): Uint8Array {
  const parts = [hexToBytes(challenge), hexToBytes(identityPublicKey), concatBytes(Uint8Array.from(parties))] as const;
  if (!restore) return taggedHash('tandem/enroll/v1', ...parts);
  return taggedHash('tandem/enroll-restore/v1', ...parts, restore.walletId, restore.address.toLowerCase());
}

/** What an approver signs to enroll: its own tag, so no device enrollment proof can serve as one, nor the reverse. */
export function approverEnrollProofMessage(challenge: string, identityPublicKey: string): Uint8Array {
  return taggedHash('tandem/enroll-approver/v1', hexToBytes(challenge), hexToBytes(identityPublicKey));
}

/** What a restore enrollment's proof of the backup share is bound to: this challenge, this identity key, this wallet. */
export function restoreEnrollContext(challenge: string, identityPublicKey: string, walletId: string): Uint8Array {
  return sharePossessionContext('tandem/enroll-restore/v1', hexToBytes(challenge), hexToBytes(identityPublicKey), walletId);
}

export function tokenProofMessage(challenge: string, deviceId: string): Uint8Array {
  return taggedHash('tandem/token/v1', hexToBytes(challenge), deviceId);
}

/** Where a device's or an approver's broker connection goes and whom it trusts, kept from its enrollment. */
export interface BrokerConnection {
  /** https://host:port of the co-signer's enrollment API. */
  cosignerUrl: string;
  /** wss://host:port/path of the broker. */
  brokerUrl: string;
  /** PEM to trust for the co-signer's HTTPS and broker, when it is not a public CA (Node only). */
  caPem?: string;
  /** PEM to trust for the broker, when the co-signer named one at enrollment. */
  brokerCaPem?: string;
  /** The co-signer's identity key, pinned at enrollment (33 bytes hex). */
  cosignerIdentity: string;
}

export function brokerFieldsOf(options: { cosignerUrl: string; caPem?: string }, enrolled: { brokerUrl: string; brokerCaPem?: string; cosignerIdentity: string }): BrokerConnection {
  return {
    cosignerUrl: options.cosignerUrl,
    brokerUrl: enrolled.brokerUrl,
    ...(options.caPem ? { caPem: options.caPem } : {}),
    ...(enrolled.brokerCaPem ? { brokerCaPem: enrolled.brokerCaPem } : {}),
    cosignerIdentity: enrolled.cosignerIdentity,
  };
}

/** New broker credentials for an enrolled device or approver: a fresh challenge, answered with its identity key. */
export async function renewBrokerToken(
  postJson: <T>(baseUrl: string, path: string, body: unknown) => Promise<T>,
  cosignerUrl: string,
  holderId: string,
  identity: Identity,
): Promise<TokenResponse> {
  const { challenge } = await postJson<ChallengeResponse>(cosignerUrl, CHALLENGE_PATH, {});
  const request: TokenRequest = { deviceId: holderId, challenge, signature: bytesToHex(identity.sign('token', tokenProofMessage(challenge, holderId))) };
  return postJson<TokenResponse>(cosignerUrl, TOKEN_PATH, request);
}
