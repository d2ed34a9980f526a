/** Test helper: asserts that a parser refused its input with -32602 and a message naming the problem. */
import { expect } from 'vitest';
import { ProviderRpcError, RPC_CODES } from '../errors.js';

export function expectInvalidParams(run: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assertInvalidParams(caught, message);
}

export async function expectInvalidParamsAsync(run: () => Promise<unknown>, message: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  assertInvalidParams(caught, message);
}

function assertInvalidParams(caught: unknown, message: RegExp): void {
  expect(caught, 'expected the call to throw').toBeInstanceOf(ProviderRpcError);
  const error = caught as ProviderRpcError;
  expect(error.code).toBe(RPC_CODES.invalidParams);
  expect(error.message).toMatch(message);
}
