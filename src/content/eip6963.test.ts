import { describe, expect, it } from 'vitest';
import { announceProvider, createTandemProviderInfo, TANDEM_RDNS } from './eip6963.js';
import type { Eip6963ProviderDetail } from './eip6963.js';
import { TANDEM_ICON_SVG } from './icon.js';

function collectAnnouncements(target: EventTarget): Eip6963ProviderDetail<unknown>[] {
  const details: Eip6963ProviderDetail<unknown>[] = [];
  target.addEventListener('eip6963:announceProvider', (event) => details.push((event as CustomEvent<Eip6963ProviderDetail<unknown>>).detail));
  return details;
}

describe('EIP-6963', () => {
  it('describes Tandem with a uuid, name, rdns and a base64 SVG data URI of the logo', () => {
    const info = createTandemProviderInfo();
    expect(info.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(info.name).toBe('Tandem');
    expect(info.rdns).toBe(TANDEM_RDNS);
    expect(info.icon.startsWith('data:image/svg+xml;base64,')).toBe(true);
    expect(atob(info.icon.slice('data:image/svg+xml;base64,'.length))).toBe(TANDEM_ICON_SVG);
    expect(createTandemProviderInfo().uuid).not.toBe(info.uuid);
  });

  it('announces at once with a frozen {info, provider} detail, and again on every request', () => {
    const target = new EventTarget();
    const details = collectAnnouncements(target);
    const provider = { request: async () => null };
    const info = createTandemProviderInfo('2f1c0a55-6d0e-4b7e-9a44-0c61f51d5a3e');
    const stop = announceProvider(target, info, provider);
    expect(details).toHaveLength(1);
    const detail = details[0]!;
    expect(detail.provider).toBe(provider);
    expect(detail.info).toEqual({ uuid: '2f1c0a55-6d0e-4b7e-9a44-0c61f51d5a3e', name: 'Tandem', icon: info.icon, rdns: 'dev.tandem.wallet' });
    expect(Object.isFrozen(detail)).toBe(true);
    expect(Object.isFrozen(detail.info)).toBe(true);

    target.dispatchEvent(new Event('eip6963:requestProvider'));
    target.dispatchEvent(new Event('eip6963:requestProvider'));
    expect(details).toHaveLength(3);
    expect(details[2]).toBe(detail);

    stop();
    target.dispatchEvent(new Event('eip6963:requestProvider'));
    expect(details).toHaveLength(3);
  });
});
