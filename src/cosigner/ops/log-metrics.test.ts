import { describe, expect, it } from 'vitest';
import { createLog, jsonLine } from './log.js';
import { CosignerMetrics, Counter, Histogram } from './metrics.js';

describe('createLog', () => {
  it('text: the message alone, as before (a plain (line) => void caller sees no change)', () => {
    const lines: string[] = [];
    const log = createLog({ format: 'text', write: (line) => lines.push(line), prefix: 'tandem-cosigner: ' });
    log('wallet abc: refused sign: POLICY', { walletId: 'abc', code: 'POLICY' });
    expect(lines).toEqual(['tandem-cosigner: wallet abc: refused sign: POLICY']);
  });

  it('json: { time, level, msg, ...fields }, secret-named fields redacted, reserved names kept apart', () => {
    const line = JSON.parse(jsonLine('hello', { level: 'warn', walletId: 'w', share: 'deadbeef', presignatureState: 'x', masterKey: 'k', time: 'mine', count: 3, skipped: undefined }, Date.UTC(2025, 0, 2)));
    expect(line).toEqual({ time: '2025-01-02T00:00:00.000Z', level: 'warn', msg: 'hello', walletId: 'w', share: '[redacted]', presignatureState: '[redacted]', masterKey: '[redacted]', field_time: 'mine', count: 3 });
    expect(JSON.parse(jsonLine('plain', undefined, 0))).toEqual({ time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'plain' });
  });

  it('json: a non-primitive field (a call-site bug) is never serialised', () => {
    const line = JSON.parse(jsonLine('oops', { walletId: { secretShare: '42' } as unknown as string }, 0));
    expect(line.walletId).toBe('[object]');
  });
});

describe('metrics text', () => {
  it('counters escape label values; histograms are cumulative with +Inf, _sum and _count', () => {
    const counter = new Counter('c_total', 'help');
    counter.inc({ code: 'a"b\\c\nd' });
    counter.inc({ code: 'a"b\\c\nd' });
    expect(counter.render()).toEqual(['# HELP c_total help', '# TYPE c_total counter', 'c_total{code="a\\"b\\\\c\\nd"} 2']);
    const histogram = new Histogram('h_seconds', 'help', [0.1, 1]);
    histogram.observe({ type: 'sign' }, 0.05);
    histogram.observe({ type: 'sign' }, 0.5);
    histogram.observe({ type: 'sign' }, 5);
    expect(histogram.render().slice(2)).toEqual([
      'h_seconds_bucket{type="sign",le="0.1"} 1',
      'h_seconds_bucket{type="sign",le="1"} 2',
      'h_seconds_bucket{type="sign",le="+Inf"} 3',
      'h_seconds_sum{type="sign"} 5.55',
      'h_seconds_count{type="sign"} 3',
    ]);
  });

  it('leaves out connected devices when the broker is external, and keeps the last pending count when the store fails', async () => {
    let fail = false;
    const metrics = new CosignerMetrics({
      pendingApprovals: async () => {
        if (fail) throw new Error('down');
        return 4;
      },
      liveConversations: () => 2,
      connectedDevices: () => undefined,
      draining: () => false,
    });
    const first = await metrics.render();
    expect(first).toMatch(/^tandem_cosigner_requests_pending_approval 4$/m);
    expect(first).toMatch(/^tandem_cosigner_conversations_live 2$/m);
    expect(first).not.toMatch(/devices_connected/);
    fail = true;
    expect(await metrics.render()).toMatch(/^tandem_cosigner_requests_pending_approval 4$/m);
  });
});
