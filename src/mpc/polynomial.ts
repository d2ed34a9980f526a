import { Fn } from './curve.js';

/** f(x) for coefficients [a0, a1, ...]. */
export function evaluatePolynomial(coefficients: readonly bigint[], x: number): bigint {
  let result = 0n;
  for (let i = coefficients.length - 1; i >= 0; i--) result = Fn.add(Fn.mul(result, BigInt(x)), coefficients[i]!);
  return result;
}

/** Lagrange coefficient of party `me` at 0 over the signer set. */
export function lagrangeAtZero(me: number, signers: readonly number[]): bigint {
  let numerator = 1n;
  let denominator = 1n;
  for (const other of signers) {
    if (other === me) continue;
    numerator = Fn.mul(numerator, BigInt(other));
    denominator = Fn.mul(denominator, Fn.sub(BigInt(other), BigInt(me)));
  }
  return Fn.div(numerator, denominator);
}
