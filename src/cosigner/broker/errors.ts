import { CodedError } from '../../mpc/errors.js';

/**
 * Every error raised by the co-signer's broker side (certificates, device tokens, the embedded
 * broker, Mosquitto and its dynamic-security plugin) carries a stable code and a short message
 * a person can act on, in the style of src/mpc/errors.ts.
 */
export class BrokerSideError extends CodedError {
  override name = 'BrokerSideError';
}

/** A TLS key or certificate could not be created, read or used. */
export class CertificateError extends BrokerSideError {
  override name = 'CertificateError';
  constructor(shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super('CERTIFICATE', shortMessage, options);
  }
}

export type TokenFailure = 'expired' | 'malformed' | 'bad-signature' | 'wrong-claims' | 'signing-key';

/** A device token was refused, or the signing key is unusable. `reason` says which. */
export class TokenError extends BrokerSideError {
  override name = 'TokenError';
  readonly reason: TokenFailure;
  constructor(reason: TokenFailure, shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(reason === 'expired' ? 'TOKEN_EXPIRED' : reason === 'signing-key' ? 'TOKEN_SIGNING_KEY' : 'TOKEN_INVALID', shortMessage, options);
    this.reason = reason;
  }
}

/** The embedded Aedes broker could not start or the co-signer could not attach to it. */
export class EmbeddedBrokerError extends BrokerSideError {
  override name = 'EmbeddedBrokerError';
  constructor(shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super('EMBEDDED_BROKER', shortMessage, options);
  }
}

/** Mosquitto is missing, failed to start, or the dynamic-security plugin cannot be found. */
export class MosquittoError extends BrokerSideError {
  override name = 'MosquittoError';
  constructor(
    code: 'MOSQUITTO_NOT_INSTALLED' | 'MOSQUITTO_PLUGIN_MISSING' | 'MOSQUITTO_START_FAILED',
    shortMessage: string,
    options: { details?: string; cause?: unknown } = {},
  ) {
    super(code, shortMessage, options);
  }
}

/** A dynamic-security command was refused by Mosquitto or got no answer in time. */
export class DynsecError extends BrokerSideError {
  override name = 'DynsecError';
  readonly command: string;
  constructor(
    code: 'DYNSEC_COMMAND_FAILED' | 'DYNSEC_TIMEOUT' | 'DYNSEC_NOT_CONNECTED',
    command: string,
    shortMessage: string,
    options: { details?: string; cause?: unknown } = {},
  ) {
    super(code, shortMessage, options);
    this.command = command;
  }
}

/** An external broker (Mosquitto, EMQX) refused or did not answer the co-signer's connection. */
export class ExternalBrokerError extends BrokerSideError {
  override name = 'ExternalBrokerError';
  constructor(shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super('EXTERNAL_BROKER', shortMessage, options);
  }
}
