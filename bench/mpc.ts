/**
 * DKLs23 core benchmark: all parties in one process, medians of repeated runs.
 *   npm run bench:mpc            human table
 *   npm run bench:mpc -- --json  one JSON line (with verifiable signature samples)
 */
import { bytesToHex, randomBytes } from '../src/mpc/bytes.js';
import { exportKeyShare, type KeyShare } from '../src/mpc/keyshare.js';
import { runDkg, runOnline, runPresign, runRefresh, runReshare, runSign } from '../src/mpc/local-runner.js';

const json = process.argv.includes('--json');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function timed<T>(work: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = work();
  return { value, ms: performance.now() - start };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

// Warm up the JIT so medians reflect steady state.
const warm = runDkg([1, 2]).shares;
for (let i = 0; i < 5; i++) runSign(warm, randomBytes(32));

const dkg2: number[] = [];
const dkgBytes: number[] = [];
const keys: KeyShare[][] = [];
for (let i = 0; i < 5; i++) {
  const run = timed(() => runDkg([1, 2]));
  dkg2.push(run.ms);
  dkgBytes.push(run.value.bytes);
  keys.push(run.value.shares);
}
const dkg3: number[] = [];
const keys3: KeyShare[][] = [];
for (let i = 0; i < 3; i++) {
  const run = timed(() => runDkg([1, 2, 3]));
  dkg3.push(run.ms);
  keys3.push(run.value.shares);
}

const presign: number[] = [];
const online: number[] = [];
const sign: number[] = [];
const signBytes: number[] = [];
const samples: { publicKey: string; digest: string; r: string; s: string; recid: number }[] = [];
for (let i = 0; i < 30; i++) {
  const shares = keys[i % keys.length]!;
  const digest = randomBytes(32);
  const pre = timed(() => runPresign(shares));
  const on = timed(() => runOnline(pre.value.parties, digest));
  presign.push(pre.ms);
  online.push(on.ms);
  const full = timed(() => runSign(shares, randomBytes(32)));
  sign.push(full.ms);
  signBytes.push(full.value.bytes);
  const hex = (value: bigint) => value.toString(16).padStart(64, '0');
  samples.push({ publicKey: bytesToHex(shares[0]!.publicKey), digest: bytesToHex(digest), r: hex(on.value.signature.r), s: hex(on.value.signature.s), recid: on.value.signature.recid });
}
for (const shares of keys3) {
  const digest = randomBytes(32);
  const { signature } = runSign([shares[1]!, shares[2]!], digest);
  samples.push({ publicKey: bytesToHex(shares[0]!.publicKey), digest: bytesToHex(digest), r: signature.r.toString(16).padStart(64, '0'), s: signature.s.toString(16).padStart(64, '0'), recid: signature.recid });
}

const refresh: number[] = [];
for (let i = 0; i < 3; i++) refresh.push(timed(() => runRefresh(keys[i]!)).ms);

// Restore onto a new device: the co-signer (2) and the backup (3) re-share to all three parties.
const restore: number[] = [];
for (const shares of keys3) restore.push(timed(() => runReshare([shares[1]!, shares[2]!], [1, 2, 3])).ms);

// A new backup (refresh key shares in the popup, 2-of-2 to 2-of-3): the device (1) and the co-signer (2) re-share to all three.
const newBackup: number[] = [];
for (let i = 0; i < 3; i++) newBackup.push(timed(() => runReshare([keys[i]![0]!, keys[i]![1]!], [1, 2, 3])).ms);

const result = {
  dkg2of2_ms: round(median(dkg2)),
  dkg2of3_ms: round(median(dkg3)),
  presign_ms: round(median(presign)),
  online_ms: round(median(online)),
  sign_ms: round(median(sign)),
  refresh_ms: round(median(refresh)),
  restore_ms: round(median(restore)),
  new_backup_ms: round(median(newBackup)),
  sign_bytes: median(signBytes),
  dkg_bytes: median(dkgBytes),
  share_bytes: exportKeyShare(keys[0]![0]!).length,
  samples,
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const rows: [string, string, string][] = [
    ['DKG 2-of-2', `${result.dkg2of2_ms} ms`, '<= 1500 ms'],
    ['DKG 2-of-3', `${result.dkg2of3_ms} ms`, '<= 4000 ms'],
    ['presign (2 parties)', `${result.presign_ms} ms`, ''],
    ['online (1 round)', `${result.online_ms} ms`, '<= 3 ms'],
    ['full signing', `${result.sign_ms} ms`, '<= 40 ms'],
    ['refresh 2-of-2', `${result.refresh_ms} ms`, ''],
    ['restore 2-of-3 (new device)', `${result.restore_ms} ms`, ''],
    ['new backup 2-of-2 -> 2-of-3', `${result.new_backup_ms} ms`, ''],
    ['signing traffic', `${result.sign_bytes} B`, ''],
    ['DKG traffic 2-of-2', `${result.dkg_bytes} B`, ''],
    ['key share (exported)', `${result.share_bytes} B`, ''],
  ];
  console.log('DKLs23 core, all parties in one process, medians');
  for (const [what, value, floor] of rows) console.log(`${what.padEnd(24)}${value.padStart(14)}   ${floor}`);
  console.log(`${samples.length} signature samples from ${keys.length + keys3.length} keys (see --json)`);
}
