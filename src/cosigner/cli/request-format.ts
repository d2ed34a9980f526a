/**
 * A held request as the operator reads it (`requests show`): the shared text of a request
 * (src/channel/request-text.ts, which the headless client renders from too) with the device and
 * approver ids and the hash check. Pure: viem's formatEther is passed in, so the CLI modules that
 * import this stay light.
 */
import type { RequestView } from '../../channel/approval-protocol.js';
import { decodedRows, describeRequest as describeRequestText, type FormatEther, type Row } from '../../channel/request-text.js';
import { formatRows } from './format.js';

/** The full view for `requests show`. `hashCheck` says whether the digest and payload hash match the stored payload. */
export function describeRequest(request: RequestView, options: { formatEther: FormatEther; now: number; hashCheck: string }): string {
  return describeRequestText(request, {
    now: options.now,
    ids: true,
    signs: [{ heading: 'What it signs:', rows: [...decodedRows(request.decoded, options.formatEther), ['digest', request.digest], ['payload hash', request.payloadHash], ['hash check', options.hashCheck]] }],
    // As in the help: a row with an empty value (an EIP-712 domain field given as "") is its label alone.
    layout: (rows: Row[]) => formatRows(rows.map(([label, value]) => [`  ${label}`, value])),
  });
}
