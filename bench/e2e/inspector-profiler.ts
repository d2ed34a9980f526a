/** In-process V8 CPU profiling over node:inspector, for a chosen window of a run (not its start-up). */
import { Session } from 'node:inspector/promises';
import type { CpuProfile } from './cpuprofile-summary.js';

export async function startCpuProfile(samplingIntervalUs = 250): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile as unknown as CpuProfile;
  };
}
