/**
 * Reads a V8 CPU profile (.cpuprofile, from node --cpu-prof or the inspector) and says where the
 * time went: self time per area of the code (ours by folder, dependencies by package, Node
 * internals) and the heaviest functions.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  areas: Array<{ area: string; ms: number }>;
  functions: Array<{ name: string; area: string; ms: number }>;
}

function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native ${functionName || '(anonymous)'}`;
  }
  const source = /\/src\/([^/]+)\/(?:([^/]+)\/)?/.exec(url);
  if (source && !url.includes('node_modules')) {
    return source[1] === 'mpc' || !source[2] || source[2].includes('.') ? `src/${source[1]}` : `src/${source[1]}/${source[2]}`;
  }
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/');
  if (url.includes('/bench/')) return 'bench';
  return url;
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, { name: string; area: string; ms: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    const ms = us / 1000;
    if (area !== 'idle') total += ms;
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const file = url ? url.split('/').slice(-1)[0] : '';
    const key = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
    const entry = functions.get(key) ?? { name: key, area, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  return {
    totalMs: total,
    areas: [...areas].map(([area, ms]) => ({ area, ms })).filter((row) => row.area !== 'idle').sort((a, b) => b.ms - a.ms),
    functions: [...functions.values()].filter((row) => row.area !== 'idle').sort((a, b) => b.ms - a.ms).slice(0, top),
  };
}

export function printSummary(title: string, summary: ProfileSummary, perUnit: { count: number; unit: string }): void {
  const per = (ms: number) => (ms / perUnit.count).toFixed(2);
  // V8 samples the running thread on a wall clock: blocking calls (fsync) count, and so does time the OS preempted it.
  console.log(`\n${title}: ${summary.totalMs.toFixed(0)} ms of busy main thread sampled, ${per(summary.totalMs)} ms per ${perUnit.unit}`);
  console.log('  by area (self time):');
  for (const row of summary.areas.filter((row) => row.ms / summary.totalMs >= 0.01)) {
    console.log(`  ${((100 * row.ms) / summary.totalMs).toFixed(1).padStart(5)}%  ${per(row.ms).padStart(7)} ms/${perUnit.unit}  ${row.area}`);
  }
  console.log('  heaviest functions (self time):');
  for (const row of summary.functions) {
    console.log(`  ${((100 * row.ms) / summary.totalMs).toFixed(1).padStart(5)}%  ${per(row.ms).padStart(7)} ms/${perUnit.unit}  ${row.name}  [${row.area}]`);
  }
}
