/** What the approval popup shows for personal_sign: the message as text when it is text, else only hex. */
import { hexToBytes, type Address, type Hex } from 'viem';
import type { ApprovalDetails, Warning } from '../api.js';

type MessageDetails = Extract<ApprovalDetails, { kind: 'message' }>;

/**
 * Control characters other than newline, carriage return and tab, plus the bidirectional embedding,
 * override and isolate marks: those reorder what is displayed, so text carrying them could read
 * differently on screen from what is signed.
 */
export const HIDDEN_CHARACTERS = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;
const ALLOWED_CONTROLS = /[\n\r\t]/g;

export function describeMessage(address: Address, data: Hex): { details: MessageDetails; warnings: Warning[] } {
  const hex = data.toLowerCase() as Hex;
  const text = readableText(hexToBytes(hex));
  if (text === undefined) {
    return {
      details: { kind: 'message', address, hex },
      warnings: [{ code: 'NOT_TEXT', message: 'This message is not readable text. Sign it only if you trust the site.' }],
    };
  }
  return { details: { kind: 'message', address, text, hex }, warnings: [] };
}

function readableText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return HIDDEN_CHARACTERS.test(text.replace(ALLOWED_CONTROLS, '')) ? undefined : text;
}
