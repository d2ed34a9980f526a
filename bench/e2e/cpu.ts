/**
 * CPU time from /proc: this process, the co-signer child, and the whole machine, so a run can say
 * how much of the two cores it had. Other work on a shared machine shows up as "other".
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Linux reports process and machine CPU time in USER_HZ ticks, 100 a second on every common build. */
const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  at: number;
  self: number;
  child: number;
  machineBusy: number;
}

function processTicks(pid: number | 'self'): number {
  // Fields after the ") " that ends the command name: utime is the 12th, stime the 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return total - values[3]! - values[4]!;
}

export function cpuSnapshot(childPid: number): CpuSnapshot {
  return { at: performance.now(), self: processTicks('self'), child: processTicks(childPid), machineBusy: machineBusyTicks() };
}

export interface CpuUse {
  seconds: number;
  /** Percent of one core, as top shows it (the machine has `cores` x 100). */
  devicesPct: number;
  cosignerPct: number;
  otherPct: number;
  cores: number;
  devicesCpuMs: number;
  cosignerCpuMs: number;
}

export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const seconds = (after.at - before.at) / 1000;
  const selfSeconds = (after.self - before.self) / TICKS_PER_SECOND;
  const childSeconds = (after.child - before.child) / TICKS_PER_SECOND;
  const busySeconds = (after.machineBusy - before.machineBusy) / TICKS_PER_SECOND;
  const pct = (value: number) => (100 * value) / seconds;
  return {
    seconds,
    devicesPct: pct(selfSeconds),
    cosignerPct: pct(childSeconds),
    otherPct: pct(Math.max(0, busySeconds - selfSeconds - childSeconds)),
    cores: availableParallelism(),
    devicesCpuMs: selfSeconds * 1000,
    cosignerCpuMs: childSeconds * 1000,
  };
}

/** How busy the machine is (percent of one core) over `ms`, while this benchmark itself waits. */
export async function machineBusyPct(ms = 1000): Promise<number> {
  const before = { at: performance.now(), busy: machineBusyTicks(), self: processTicks('self') };
  await new Promise((resolve) => setTimeout(resolve, ms));
  const seconds = (performance.now() - before.at) / 1000;
  const busy = machineBusyTicks() - before.busy - (processTicks('self') - before.self);
  return (100 * Math.max(0, busy)) / TICKS_PER_SECOND / seconds;
}
