import { CodedError } from '../../mpc/errors.js';

/** Errors of the policy module. A refused request is not an error: evaluatePolicy returns a decision. */
export class PolicyError extends CodedError {
  override name = 'PolicyError';
}

/** A policy an operator wrote is not valid; `field` names the part to fix. Nothing was saved. */
export class InvalidPolicyError extends PolicyError {
  override name = 'InvalidPolicyError';
  readonly field: string;
  constructor(field: string, shortMessage: string, cause?: unknown) {
    super('POLICY_INVALID', shortMessage, { cause });
    this.field = field;
  }
}

/** The request handed to evaluatePolicy is malformed: a bug in the caller, not a refusal. */
export class PolicyRequestError extends PolicyError {
  constructor(shortMessage: string) {
    super('POLICY_BAD_REQUEST', shortMessage);
    this.name = 'PolicyRequestError';
  }
}
