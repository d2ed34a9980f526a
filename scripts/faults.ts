/**
 * The fault campaign (see src/cosigner/testing/fault-campaign.ts), full size, printing one JSON line:
 *
 *   npm run test:faults            100 device disconnects, 20 broker restarts, 10 broker crashes, 1000 sessions
 *                                  over 200 devices, 100 kills of a member of a pool of two co-signers
 *   npm run test:faults -- --quick the size `npm test` runs (fault-campaign.test.ts)
 *
 * Exits 1 if a request was lost, a signature did not verify, a nonce was used twice, an error was unclear
 * or a pool member's retry was counted twice in the spend ledger.
 */
import { QUICK_CAMPAIGN, runFaultCampaign } from '../src/cosigner/testing/fault-campaign.js';

const quick = process.argv.includes('--quick');
const size = quick ? QUICK_CAMPAIGN : { disconnects: 100, brokerRestarts: 20, brokerCrashes: 10, instanceKills: 100, restartDevices: 4, concurrentDevices: 200, sessionsPerDevice: 5 };
const report = await runFaultCampaign({ ...size, log: (line) => process.stderr.write(`faults: ${line}\n`) });
process.stdout.write(`${JSON.stringify({ quick, ...report })}\n`);
const lost = report.device_disconnects.lost + report.broker_restarts.lost + report.broker_crashes.lost + report.concurrent_sessions.lost + report.instance_kills.lost;
process.exitCode = lost === 0 && report.signatures_bad === 0 && report.presignatures_reused === 0 && report.unclear_errors.length === 0 && report.instance_kills.spend_overcounted === 0 ? 0 : 1;
