import type { BusyReason } from '../protocol/messages.js';

/**
 * Counters the manager keeps on its hot paths: plain integer fields, so counting costs an
 * increment. Exported figures (status, metrics) are read from here.
 */
export class ManagerStats {
  admitted = 0;
  attached = 0;
  completed = 0;
  failed = 0;
  expired = 0;
  cancelled = 0;
  abandoned = 0;
  unknownTask = 0;
  lostAttempts = 0;
  retriedAttempts = 0;
  workerLost = 0;
  staleOutcomes = 0;
  readonly rejectedByReason: Record<BusyReason, number> = {
    full: 0, latency: 0, deadline: 0, displaced: 0, no_workers: 0, draining: 0,
  };

  rejected(reason: BusyReason): void {
    this.rejectedByReason[reason]++;
  }

  get rejectedTotal(): number {
    let total = 0;
    for (const n of Object.values(this.rejectedByReason)) total += n;
    return total;
  }
}
