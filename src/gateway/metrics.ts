import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayGauges {
  pending: number;
  maxPending: number;
  jobs: number;
  unfinishedJobs: number;
  jobsEvicted: number;
  statusStreams: number;
  ready: boolean;
}

/**
 * The gateway's own metrics, served at /metrics in the Prometheus text format (prom-client).
 * Counting stays an array increment on the hot path; prom-client reads the counts when scraped.
 */
export class GatewayMetrics {
  /** Responses by status code (index = status). */
  readonly #byStatus = new Float64Array(600);
  readonly #localBusy = new Map<string, number>();
  /** Callers that left before their answer; their tasks were cancelled. */
  callersGone = 0;
  readonly registry = new Registry();

  constructor(gauges: () => GatewayGauges, processMetrics = false) {
    const registers = [this.registry];
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    const byStatus = this.#byStatus;
    const localBusy = this.#localBusy;
    const callersGone = (): number => this.callersGone;
    new Counter({
      name: 'sluice_gateway_responses_total', help: 'HTTP responses by status code.', labelNames: ['status'], registers,
      collect() {
        this.reset();
        for (let status = 100; status < 600; status++) if (byStatus[status]! > 0) this.inc({ status }, byStatus[status]);
      },
    });
    new Counter({
      name: 'sluice_gateway_local_busy_total', help: '503 answers given by the gateway without asking the manager, by reason.', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const [reason, n] of localBusy) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: 'sluice_gateway_callers_gone_total', help: 'Callers that disconnected before their answer (their tasks were cancelled).', registers,
      collect() {
        this.reset();
        this.inc(callersGone());
      },
    });
    const gauge = (name: string, help: string, read: (g: GatewayGauges) => number | Array<[Record<string, string>, number]>, labelNames: string[] = []): void => {
      new Gauge({
        name, help, labelNames, registers,
        collect() {
          this.reset();
          const value = read(gauges());
          if (typeof value === 'number') this.set(value);
          else for (const [labels, n] of value) this.set(labels, n);
        },
      });
    };
    gauge('sluice_gateway_pending', 'Synchronous requests waiting for their task.', (g) => g.pending);
    gauge('sluice_gateway_max_pending', 'Bound on waiting synchronous requests; past it 503 at once.', (g) => g.maxPending);
    gauge('sluice_gateway_jobs', 'Jobs held in the job store.', (g) => [[{ state: 'unfinished' }, g.unfinishedJobs], [{ state: 'finished' }, g.jobs - g.unfinishedJobs]], ['state']);
    new Counter({
      name: 'sluice_gateway_jobs_evicted_total', help: 'Finished jobs dropped by TTL or to make room.', registers,
      collect() {
        this.reset();
        this.inc(gauges().jobsEvicted);
      },
    });
    gauge('sluice_gateway_status_streams', 'Open /v1/status/stream connections.', (g) => g.statusStreams);
    gauge('sluice_gateway_ready', 'Whether /readyz answers 200.', (g) => (g.ready ? 1 : 0));
  }

  countStatus(status: number): void {
    this.#byStatus[status]!++;
  }

  countLocalBusy(reason: string): void {
    this.#localBusy.set(reason, (this.#localBusy.get(reason) ?? 0) + 1);
  }

  responses(status: number): number {
    return this.#byStatus[status] ?? 0;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
