/**
 * The gateway's own counters, served at /metrics in the Prometheus text format. Counting is an
 * array increment on the hot path; the text is built only when scraped.
 */
export class GatewayMetrics {
  /** Responses by status code (index = status). */
  readonly #byStatus = new Float64Array(600);
  readonly #localBusy = new Map<string, number>();
  /** Callers that left before their answer; their tasks were cancelled. */
  callersGone = 0;

  countStatus(status: number): void {
    this.#byStatus[status]!++;
  }

  countLocalBusy(reason: string): void {
    this.#localBusy.set(reason, (this.#localBusy.get(reason) ?? 0) + 1);
  }

  responses(status: number): number {
    return this.#byStatus[status] ?? 0;
  }

  render(gauges: { pending: number; jobs: number; unfinishedJobs: number; jobsEvicted: number; ready: boolean }): string {
    const lines: string[] = [
      '# HELP sluice_gateway_responses_total HTTP responses by status code.',
      '# TYPE sluice_gateway_responses_total counter',
    ];
    for (let status = 100; status < 600; status++) {
      const n = this.#byStatus[status] as number;
      if (n > 0) lines.push(`sluice_gateway_responses_total{status="${status}"} ${n}`);
    }
    lines.push(
      '# HELP sluice_gateway_local_busy_total 503 answers given by the gateway without asking the manager, by reason.',
      '# TYPE sluice_gateway_local_busy_total counter',
    );
    for (const [reason, n] of this.#localBusy) lines.push(`sluice_gateway_local_busy_total{reason="${reason}"} ${n}`);
    lines.push(
      '# HELP sluice_gateway_callers_gone_total Callers that disconnected before their answer (their tasks were cancelled).',
      '# TYPE sluice_gateway_callers_gone_total counter',
      `sluice_gateway_callers_gone_total ${this.callersGone}`,
      '# HELP sluice_gateway_pending Synchronous requests waiting for their task.',
      '# TYPE sluice_gateway_pending gauge',
      `sluice_gateway_pending ${gauges.pending}`,
      '# HELP sluice_gateway_jobs Jobs held in the job store.',
      '# TYPE sluice_gateway_jobs gauge',
      `sluice_gateway_jobs{state="unfinished"} ${gauges.unfinishedJobs}`,
      `sluice_gateway_jobs{state="finished"} ${gauges.jobs - gauges.unfinishedJobs}`,
      '# HELP sluice_gateway_jobs_evicted_total Finished jobs dropped by TTL or to make room.',
      '# TYPE sluice_gateway_jobs_evicted_total counter',
      `sluice_gateway_jobs_evicted_total ${gauges.jobsEvicted}`,
      '# HELP sluice_gateway_ready Whether /readyz answers 200.',
      '# TYPE sluice_gateway_ready gauge',
      `sluice_gateway_ready ${gauges.ready ? 1 : 0}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
