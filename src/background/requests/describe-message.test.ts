import { describe, expect, it } from 'vitest';
import { bytesToHex, stringToHex } from 'viem';
import { describeMessage } from './describe-message.js';

const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const NOT_TEXT = { code: 'NOT_TEXT', message: 'This message is not readable text. Sign it only if you trust the site.' };

describe('describeMessage', () => {
  it('shows UTF-8 text, including newlines, tabs and non-ASCII, with no warning', () => {
    const text = 'example.com wants you to sign in\r\n\tNonce: 42 ✓ 日本語 🦊';
    expect(describeMessage(ALICE, stringToHex(text))).toEqual({
      details: { kind: 'message', address: ALICE, text, hex: stringToHex(text) },
      warnings: [],
    });
  });

  it('shows the empty message as empty text', () => {
    expect(describeMessage(ALICE, '0x').details).toEqual({ kind: 'message', address: ALICE, text: '', hex: '0x' });
  });

  it('shows only hex, with a warning, when the bytes are not valid UTF-8', () => {
    const { details, warnings } = describeMessage(ALICE, '0xFF00AA11');
    expect(details).toEqual({ kind: 'message', address: ALICE, hex: '0xff00aa11' });
    expect(details).not.toHaveProperty('text');
    expect(warnings).toEqual([NOT_TEXT]);
  });

  it('treats a 32-byte hash as not text', () => {
    const hash = bytesToHex(Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 128) % 256));
    expect(describeMessage(ALICE, hash).warnings).toEqual([NOT_TEXT]);
  });

  it('treats valid UTF-8 with control characters as not text', () => {
    for (const text of ['null\u0000byte', 'bell\u0007', 'escape \u001b[31mred', 'delete\u007f', 'c1 \u0085 control']) {
      const { details, warnings } = describeMessage(ALICE, stringToHex(text));
      expect(details.text, JSON.stringify(text)).toBeUndefined();
      expect(warnings).toEqual([NOT_TEXT]);
    }
  });

  it('treats text with bidirectional override marks as not text, since it displays reordered', () => {
    const { details, warnings } = describeMessage(ALICE, stringToHex('Send to \u202Eevil\u202C now'));
    expect(details.text).toBeUndefined();
    expect(warnings).toEqual([NOT_TEXT]);
  });
});
