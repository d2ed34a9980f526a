/**
 * A held request as the operator reads it (`requests list`, `requests show`). Pure: types and
 * viem's formatEther only, passed in, so the CLI modules that import this stay light.
 *
 * The headless client has its own rendering (src/client/tandem-approver.ts): a client may not
 * import from the co-signer. Both follow the same layout.
 */
import type { DecodedRequest, RequestState, RequestView } from '../../channel/approval-protocol.js';
import { formatRows } from './format.js';

/** Every RequestState, checked against the type below, so the CLI need not load approval-protocol (and viem) for help and flags. */
export const REQUEST_STATE_NAMES = ['pending-approval', 'approved', 'rejected', 'expired', 'signed', 'broadcast', 'failed'] as const satisfies readonly RequestState[];
type MissingState = Exclude<RequestState, (typeof REQUEST_STATE_NAMES)[number]>;
const everyStateListed: MissingState extends never ? true : never = true;
void everyStateListed;

export type FormatEther = (wei: bigint) => string;

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** "in 3 h 2 min" / "12 min ago", for an expiry. */
export function relative(ms: number, now: number): string {
  const delta = ms - now;
  const minutes = Math.round(Math.abs(delta) / 60_000);
  const text = minutes < 1 ? 'less than a minute' : minutes < 120 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${Math.round(minutes / 1440)} days`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

function ether(wei: string, formatEther: FormatEther): string {
  return `${formatEther(BigInt(wei))} ETH (${wei} wei)`;
}

/** One line: what the request would sign. */
export function requestSummary(decoded: DecodedRequest, formatEther: FormatEther): string {
  switch (decoded.kind) {
    case 'transaction': {
      const to = decoded.to ?? 'a new contract';
      const token = decoded.token ? `; ${decoded.token.functionName} ${decoded.token.amount} (token units) ${decoded.token.role === 'spender' ? 'for spender' : 'to'} ${decoded.token.counterparty}` : '';
      const call = !decoded.token && decoded.selector ? `; calls ${decoded.selector}` : '';
      return `tx chain ${decoded.chainId}: ${formatEther(BigInt(decoded.valueWei))} ETH to ${to}${token}${call}`;
    }
    case 'typedData':
      return `typed data ${decoded.primaryType ?? '(no primary type)'}${decoded.domain.name ? ` for ${decoded.domain.name}` : ''}${decoded.domain.chainId ? ` chain ${decoded.domain.chainId}` : ''}`;
    case 'message':
      return decoded.text === null ? `message of ${decoded.bytes} bytes (not text)` : `message ${JSON.stringify(decoded.text.length > 40 ? `${decoded.text.slice(0, 40)}...` : decoded.text)}`;
  }
}

/** "1/2 large" per quorum: approvals counted so far of the quorum, and the rule. */
export function quorumProgress(request: RequestView): string {
  return request.quorums
    .map((quorum) => {
      const ids = new Set(quorum.approvers.map((approver) => approver.approverId));
      const approvals = request.decisions.filter((decision) => decision.verdict === 'approve' && ids.has(decision.approverId)).length;
      return `${approvals}/${quorum.quorum} ${quorum.rule}`;
    })
    .join(', ');
}

export function decodedRows(decoded: DecodedRequest, formatEther: FormatEther): [string, string][] {
  switch (decoded.kind) {
    case 'transaction': {
      const rows: [string, string][] = [
        ['kind', 'transaction'],
        ['chain', String(decoded.chainId)],
        ['to', decoded.to ?? '(none: deploys a contract)'],
        ['value', ether(decoded.valueWei, formatEther)],
        ['nonce', decoded.nonce === null ? '-' : String(decoded.nonce)],
        ['calldata', decoded.dataBytes === 0 ? 'none' : `${decoded.dataBytes} bytes, selector ${decoded.selector}`],
      ];
      if (decoded.token) {
        rows.push([`ERC-20 ${decoded.token.functionName}`, `${decoded.token.amount} token units (before the token's decimals)`]);
        rows.push([`  ${decoded.token.role}`, decoded.token.counterparty]);
        rows.push(['  token contract', decoded.to ?? '-']);
      }
      return rows;
    }
    case 'typedData':
      return [
        ['kind', 'typed data (EIP-712)'],
        ['primary type', decoded.primaryType ?? '-'],
        ['domain name', decoded.domain.name ?? '-'],
        ['domain version', decoded.domain.version ?? '-'],
        ['domain chain', decoded.domain.chainId ?? '-'],
        ['verifying contract', decoded.domain.verifyingContract ?? '-'],
      ];
    case 'message':
      return [
        ['kind', 'personal message (EIP-191)'],
        ['text', decoded.text === null ? `(not text: ${decoded.bytes} raw bytes)` : JSON.stringify(decoded.text)],
        ['length', `${decoded.bytes} bytes`],
      ];
  }
}

/** The full view for `requests show`. `hashCheck` says whether the digest and payload hash match the stored payload. */
export function describeRequest(request: RequestView, options: { formatEther: FormatEther; now: number; hashCheck: string }): string {
  const { formatEther, now } = options;
  const indent = (rows: [string, string][]) => formatRows(rows.map(([label, value]) => [`  ${label}`, value]));
  const lines = [`Request ${request.requestId}: ${request.state}`];
  lines.push(
    ...indent([
      ['wallet', `${request.walletId}${request.address ? ` (${request.address})` : ''}`],
      ['device', request.deviceId],
      ['created', iso(request.createdAt)],
      ['expires', `${iso(request.expiresAt)} (${relative(request.expiresAt, now)})`],
      ['updated', iso(request.updatedAt)],
    ]),
  );
  lines.push('', 'What it signs:', ...indent([...decodedRows(request.decoded, formatEther), ['digest', request.digest], ['payload hash', request.payloadHash], ['hash check', options.hashCheck]]));
  lines.push('', 'Approvals needed:');
  for (const quorum of request.quorums) {
    const names = quorum.approvers.map((approver) => `${approver.name} (${approver.approverId})`).join(', ');
    lines.push(`  rule ${quorum.rule}: ${quorum.quorum} of ${names}`);
  }
  lines.push('', 'Decisions:');
  if (request.decisions.length === 0) lines.push('  none yet');
  else lines.push(...indent(request.decisions.map((decision) => [decision.name, `${decision.verdict} at ${iso(decision.decidedAt)} (${decision.approverId})`])));
  const result = request.result;
  if (result && Object.keys(result).length > 0) {
    const rows: [string, string][] = [];
    if (result.transactionHash) rows.push(['tx hash', result.transactionHash]);
    if (result.signature) rows.push(['signature', result.signature]);
    if (result.rawTransaction) rows.push(['signed tx', result.rawTransaction]);
    if (result.error) rows.push(['error', result.error]);
    lines.push('', 'Result:', ...indent(rows));
  }
  return lines.join('\n');
}
