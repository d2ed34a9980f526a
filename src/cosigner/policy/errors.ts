/** Errors of the policy module. A refused request is not an error: evaluatePolicy returns a decision. */
export class PolicyError extends Error {
  override name = 'PolicyError';
  readonly code: string;
  readonly shortMessage: string;

  constructor(code: string, shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
  }
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
