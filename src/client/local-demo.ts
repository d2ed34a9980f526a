/**
 * `npm start` until the co-signer and extension land: creates a 2-of-3 wallet
 * with all three parties in this process, signs an EIP-191 message with each
 * pair, and shows that viem recovers the wallet address every time.
 */
import { recoverMessageAddress } from 'viem';
import { keyShareAddress, toViemSignature } from '../mpc/index.js';
import { deliverAll, runDkg, runPresign } from '../mpc/local-runner.js';

const started = performance.now();
const { shares } = runDkg([1, 2, 3]);
const address = keyShareAddress(shares[0]!);
console.log(`2-of-3 wallet created in ${Math.round(performance.now() - started)} ms: ${address}`);

const names: Record<number, string> = { 1: 'device', 2: 'co-signer', 3: 'backup' };
const payload = { kind: 'message' as const, message: 'Hello from Tandem' };
for (const pair of [[shares[0]!, shares[1]!], [shares[0]!, shares[2]!], [shares[1]!, shares[2]!]]) {
  const { parties } = runPresign(pair);
  const { results } = deliverAll(parties, parties.flatMap((party) => party.signPayload(payload).outgoing));
  const result = results.get(pair[0]!.partyId);
  if (result?.kind !== 'signature') throw new Error('signing did not finish');
  const signature = toViemSignature(payload, result.signature);
  const recovered = await recoverMessageAddress({ message: payload.message, signature });
  console.log(`${names[pair[0]!.partyId]} + ${names[pair[1]!.partyId]}: ${signature.slice(0, 20)}... recovers ${recovered} ${recovered === address ? 'OK' : 'MISMATCH'}`);
}
console.log('\nThe co-signer service and the browser extension arrive with the next issues; see README.md.');
