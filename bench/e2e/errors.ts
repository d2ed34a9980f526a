/** Failures of the end-to-end benchmark's own machinery (not of the code it measures). */
export type BenchErrorCode = 'BENCH_COSIGNER_START' | 'BENCH_ENROLL' | 'BENCH_PROC' | 'BENCH_CONNECT';

export class BenchError extends Error {
  override name = 'BenchError';
  readonly code: BenchErrorCode;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: BenchErrorCode, shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}
