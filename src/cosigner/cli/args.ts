import { WALLET_ID_PATTERN } from '../../channel/topics.js';
import type { Values } from './command.js';
import { CliUsageError } from './errors.js';

export function stringValue(value: Values[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function stringList(value: Values[string]): string[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

export function integerFlag(flag: string, text: string, min: number, max: number): number {
  if (!/^[0-9]{1,15}$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new CliUsageError(`${flag} must be a whole number from ${min} to ${max}; got ${JSON.stringify(text)}.`);
  }
  return Number(text);
}

export function walletIdArgument(text: string, command: string): string {
  if (!WALLET_ID_PATTERN.test(text)) throw new CliUsageError(`A wallet id is 32 lowercase hex characters; got ${JSON.stringify(text)}.`, command);
  return text;
}
