/**
 * The fault campaign in its short form (the full one: `npm run test:faults`): devices cut off at every
 * write of a signing, Mosquitto restarted and crashed while devices sign, a hundred signing sessions at once, and
 * members of a pool of two co-signers killed while devices sign.
 * Nothing may be lost, every error must be a typed one, every signature must verify and no nonce
 * point may appear twice.
 */
import { describe, expect, it } from 'vitest';
import { QUICK_CAMPAIGN, runFaultCampaign } from './testing/fault-campaign.js';

describe('the fault campaign (short form)', () => {
  it('loses no request, reuses no presignature, and every signature verifies', async () => {
    const report = await runFaultCampaign(QUICK_CAMPAIGN);
    console.log(JSON.stringify(report));
    for (const scenario of [report.device_disconnects, report.broker_restarts, report.broker_crashes, report.concurrent_sessions, report.instance_kills]) {
      expect(scenario.lost).toBe(0);
      expect(scenario.failed_unclear).toBe(0);
      expect(scenario.completed + scenario.failed_clear).toBe(scenario.runs);
    }
    expect(report.unclear_errors).toEqual([]);
    expect(report.signatures_bad).toBe(0);
    expect(report.presignatures_reused).toBe(0);
    // The faults were really injected, and the campaign really signed.
    expect(report.device_disconnects.writes_per_signing).toBeGreaterThan(1);
    expect(report.device_disconnects.cuts).toBeGreaterThanOrEqual(report.device_disconnects.writes_per_signing);
    expect(report.broker_restarts.restarts).toBe(QUICK_CAMPAIGN.brokerRestarts);
    expect(report.broker_restarts.recovered).toBeGreaterThan(0);
    expect(report.broker_crashes.crashes).toBe(QUICK_CAMPAIGN.brokerCrashes);
    expect(report.broker_crashes.recovered).toBeGreaterThan(0);
    expect(report.concurrent_sessions.runs).toBe(QUICK_CAMPAIGN.concurrentDevices * QUICK_CAMPAIGN.sessionsPerDevice);
    expect(report.instance_kills.kills).toBe(QUICK_CAMPAIGN.instanceKills);
    expect(report.instance_kills.completed).toBeGreaterThan(0);
    // Every completed transaction is in the spend ledger once; no request is counted twice.
    expect(report.instance_kills.spend_overcounted).toBe(0);
    expect(report.instance_kills.spent_wei).toBeGreaterThanOrEqual(report.instance_kills.completed);
    expect(report.instance_kills.spent_wei).toBeLessThanOrEqual(report.instance_kills.runs);
    expect(report.signatures).toBeGreaterThan(100);
  }, 300_000);
});
