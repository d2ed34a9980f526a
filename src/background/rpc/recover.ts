/** personal_ecRecover: the address that signed a personal_sign message. Pure: no key, no chain, no connection needed. */
import { recoverMessageAddress } from 'viem';
import { invalidParams } from '../errors.js';
import { parsePersonalEcRecover } from '../requests/params.js';
import type { RpcHandler } from './context.js';

/** Answers the address checksummed, as Tandem's eth_accounts does, so a dapp can compare the two as they come. */
export const personalEcRecover: RpcHandler = async ({ params }) => {
  const { data, signature } = parsePersonalEcRecover(params);
  try {
    return { result: await recoverMessageAddress({ message: { raw: data }, signature }) };
  } catch (cause) {
    throw invalidParams(`personal_ecRecover could not recover an address from this signature (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}).`);
  }
};
