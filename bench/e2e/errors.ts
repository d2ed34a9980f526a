import { CodedError } from '../../src/mpc/errors.js';

/** Failures of the end-to-end benchmark's own machinery (not of the code it measures). */
export type BenchErrorCode = 'BENCH_COSIGNER_START' | 'BENCH_ENROLL' | 'BENCH_PROC' | 'BENCH_CONNECT';

export class BenchError extends CodedError<BenchErrorCode> {
  override name = 'BenchError';
}
