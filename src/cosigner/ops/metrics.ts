/**
 * Prometheus metrics of the co-signer, in the text exposition format (version 0.0.4).
 *
 * Hand-written rather than prom-client: what the co-signer needs is a few labelled counters, gauges
 * read at scrape time and one histogram, which is about a hundred lines; the format is small and
 * stable, and the service keeps its dependency list (every one is audited) short. The hot path only
 * increments numbers in a Map; all formatting happens when Prometheus scrapes.
 */
import { cpuUsage, memoryUsage } from 'node:process';

type Labels = Record<string, string>;

/** Request latency buckets, in seconds: an online signature takes milliseconds, a keygen about a second. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`;
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

interface Metric {
  render(): string[];
}

export class Counter implements Metric {
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels))?.value ?? 0;
  }

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, ...[...this.#values.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${numberText(value)}`)];
  }
}

/** A gauge read when scraped; `read` returns undefined to leave the metric out (nothing to say). */
export class Gauge implements Metric {
  #last: { labels: Labels; value: number }[] = [];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly read: () => number | { labels: Labels; value: number }[] | undefined,
    readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}

  /** Reads the value now (collect() calls it for every gauge before rendering). */
  collect(): void {
    const value = this.read();
    this.#last = value === undefined ? [] : typeof value === 'number' ? [{ labels: {}, value }] : value;
  }

  render(): string[] {
    if (this.#last.length === 0) return [];
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.#last.map(({ labels, value }) => `${this.name}${labelText(labels)} ${numberText(value)}`)];
  }
}

export class Histogram implements Metric {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS_S,
  ) {}

  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let series = this.#series.get(key);
    if (!series) {
      series = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    // Counts per bucket (not cumulative) here; cumulated when rendered.
    const index = this.buckets.findIndex((bound) => value <= bound);
    if (index >= 0) series.counts[index]!++;
    series.sum += value;
    series.count++;
  }

  count(labels: Labels): number {
    return this.#series.get(labelText(labels))?.count ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, index) => {
        cumulative += counts[index]!;
        lines.push(`${this.name}_bucket${labelText({ ...labels, le: numberText(bound) })} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${numberText(sum)}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines;
  }
}

/** What serving code reports; every method is a few Map operations. */
export interface RequestMetrics {
  /** A signature left the co-signer: full protocol (sign-now), from a pooled presignature, or after approvers approved. */
  signed(kind: 'full' | 'pooled' | 'approved'): void;
  refused(code: string): void;
  aborted(protocol: string): void;
  /** A request of this type ended (answered, refused or failed) after `seconds`. */
  requestDone(type: string, seconds: number): void;
}

export interface ScrapeSources {
  /** Held requests waiting for approvers (from the store: every instance reports the shared number). */
  pendingApprovals(): Promise<number>;
  liveConversations(): number;
  /** Devices connected to the embedded broker; undefined on an external broker. */
  connectedDevices(): number | undefined;
  draining(): boolean;
}

const PREFIX = 'tandem_cosigner';

export class CosignerMetrics implements RequestMetrics {
  readonly signatures = new Counter(`${PREFIX}_signatures_total`, 'Signatures the co-signer completed, by kind (full: presign and sign in one request; pooled: from a stored presignature; approved: finished after approvers approved).');
  readonly refusals = new Counter(`${PREFIX}_requests_refused_total`, 'Device requests answered with a refusal, by refusal code.');
  readonly aborts = new Counter(`${PREFIX}_protocol_aborts_total`, 'MPC protocol runs that aborted (a failed check here or at the device), by protocol.');
  readonly latency = new Histogram(`${PREFIX}_request_duration_seconds`, 'Time from a device request arriving to its answer (including the wait for the wallet queue), by request type.');
  #pendingApprovals = 0;
  readonly #gauges: Gauge[];
  readonly #sources: ScrapeSources;
  readonly #startedAtS = Date.now() / 1000;

  constructor(sources: ScrapeSources) {
    this.#sources = sources;
    this.#gauges = [
      new Gauge(`${PREFIX}_requests_pending_approval`, 'Held requests waiting for approvers (from the store, so the same on every instance of a pool).', () => this.#pendingApprovals),
      new Gauge(`${PREFIX}_conversations_live`, 'Device conversations this instance serves now.', () => sources.liveConversations()),
      new Gauge(`${PREFIX}_devices_connected`, 'Devices connected to the embedded broker (absent with an external broker: ask the broker).', () => sources.connectedDevices()),
      new Gauge(`${PREFIX}_draining`, '1 while the co-signer drains before it stops (takes no new requests).', () => (sources.draining() ? 1 : 0)),
      new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => memoryUsage.rss()),
      new Gauge('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
        const { user, system } = cpuUsage();
        return (user + system) / 1e6;
      }, 'counter'),
      new Gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => this.#startedAtS),
      new Gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', () => memoryUsage().heapUsed),
    ];
  }

  signed(kind: 'full' | 'pooled' | 'approved'): void {
    this.signatures.inc({ kind });
  }

  refused(code: string): void {
    this.refusals.inc({ code });
  }

  aborted(protocol: string): void {
    this.aborts.inc({ protocol });
  }

  requestDone(type: string, seconds: number): void {
    this.latency.observe({ type }, seconds);
  }

  /** The exposition text. A failing store read leaves the last known pending count (health reports the store). */
  async render(): Promise<string> {
    this.#pendingApprovals = await this.#sources.pendingApprovals().catch(() => this.#pendingApprovals);
    for (const gauge of this.#gauges) gauge.collect();
    const metrics: Metric[] = [this.signatures, this.refusals, this.aborts, this.latency, ...this.#gauges];
    return `${metrics.flatMap((metric) => metric.render()).join('\n')}\n`;
  }
}

/** Content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
