import { DriftAlarm, ThresholdAlarm, type AlarmChange, type DriftSettings, type FillThresholds } from '../core/watch/alarms.js';
import type { Logger } from '../core/logger.js';
import type { Alert, Status } from '../protocol/messages.js';
import type { ActiveAlert, AlertEvent, AlertLevel, StatusSnapshot } from '../protocol/status.js';
import type { Measures } from './measures.js';
import type { ManagerStats } from './stats.js';
import {
  NO_RATES, buildStatusSnapshot, fillRatio, ratesBetween, roundMs, sampleCounters,
  type CounterSample, type LiveFigures, type TickFigures,
} from './status.js';

/** A task's service time is judged only from windows with at least this many samples. */
export const DRIFT_MIN_SAMPLES = 20;

export interface StatusWatchOptions {
  intervalMs: number;
  fill: FillThresholds;
  drift: DriftSettings;
  logger: Logger;
  stats: ManagerStats;
  measures: Measures;
  /** Reads the manager's figures now (queue, workers, counters). */
  live(): LiveFigures;
  /** Sends to every client watching; called only when someone watches. */
  broadcast(message: Status | Alert): void;
  readonly watched: () => boolean;
}

const percent = (ratio: number): string => `${Math.round(ratio * 100)}%`;
const ms = (n: number): string => `${Math.round(n * 10) / 10} ms`;

/**
 * The manager's once-a-second heartbeat of figures: rotates the histogram windows, computes rates
 * and percentiles, runs the alarms (each change logged once, counted, and pushed to watchers), and
 * pushes the snapshot to watchers.
 */
export class StatusWatch {
  readonly #options: StatusWatchOptions;
  readonly #fillAlarms: Array<{ level: AlertLevel; alarm: ThresholdAlarm }>;
  readonly #driftAlarms = new Map<string, DriftAlarm>();
  /** Active alerts by `kind|level|task`. */
  readonly #active = new Map<string, ActiveAlert>();
  /** Alerts raised since start, by `kind|level`. */
  readonly raisedCounts = new Map<string, number>();
  #tick: TickFigures = { rates: NO_RATES, tasks: [], alerts: [] };
  #previous: CounterSample;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: StatusWatchOptions) {
    this.#options = options;
    const { warning, critical, hysteresis } = options.fill;
    this.#fillAlarms = [
      { level: 'warning', alarm: new ThresholdAlarm(warning, warning - hysteresis) },
      { level: 'critical', alarm: new ThresholdAlarm(critical, critical - hysteresis) },
    ];
    this.#previous = sampleCounters(options.stats, Date.now());
  }

  start(): void {
    this.#timer ??= setInterval(() => this.tick(), this.#options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get activeAlerts(): Iterable<ActiveAlert> {
    return this.#active.values();
  }

  /** A snapshot now: live queue and worker figures with the last tick's rates, percentiles and alerts. */
  snapshot(): StatusSnapshot {
    return buildStatusSnapshot(this.#options.live(), this.#tick);
  }

  tick(now = Date.now()): void {
    const o = this.#options;
    const sample = sampleCounters(o.stats, now);
    const rates = ratesBetween(this.#previous, sample);
    this.#previous = sample;
    const tasks: StatusSnapshot['tasks'] = [];
    for (const m of o.measures.tasks) {
      const wait = o.measures.percentiles(m.wait);
      const service = o.measures.percentiles(m.service);
      tasks.push({ name: m.name, completed: m.completed, failed: m.failed, waitMs: roundMs(wait.ms), serviceMs: roundMs(service.ms) });
      this.#checkDrift(m.name, service.count >= DRIFT_MIN_SAMPLES ? service.ms.p90 : undefined, now);
    }
    o.measures.rotate();
    const live = o.live();
    const total = live.queuedByPriority.reduce((a, b) => a + b, 0);
    const fill = fillRatio(total, live.bound);
    for (const { level, alarm } of this.#fillAlarms) {
      const change = alarm.update(fill, now);
      if (change !== undefined) {
        this.#change(change, {
          kind: 'fill', level, since: alarm.since, value: fill, threshold: alarm.raiseAt,
          message: change === 'raised'
            ? `Queue ${percent(fill)} full (${total} of ${live.bound}): at or above the ${level} threshold of ${percent(alarm.raiseAt)}`
            : `Queue back to ${percent(fill)} full: below ${percent(alarm.clearBelow)}, the ${level} alert clears`,
        }, now);
      } else if (alarm.isActive) {
        this.#active.get(`fill|${level}|`)!.value = fill;
      }
    }
    this.#tick = { rates, tasks, alerts: [...this.#active.values()].map((a) => ({ ...a })) };
    if (o.watched()) o.broadcast({ type: 'status', snapshot: buildStatusSnapshot(live, this.#tick) });
  }

  #checkDrift(task: string, p90: number | undefined, now: number): void {
    let alarm = this.#driftAlarms.get(task);
    if (alarm === undefined) {
      alarm = new DriftAlarm(this.#options.drift);
      this.#driftAlarms.set(task, alarm);
    }
    const threshold = alarm.threshold;
    const norm = alarm.norm ?? 0;
    const change = alarm.update(p90, now);
    if (change === undefined) {
      const active = this.#active.get(`service_time|warning|${task}`);
      if (active !== undefined && p90 !== undefined) active.value = p90;
      return;
    }
    const value = p90 ?? 0;
    this.#change(change, {
      kind: 'service_time', level: 'warning', task, since: alarm.since, value, threshold,
      message: change === 'raised'
        ? `Task ${JSON.stringify(task)}: p90 service time ${ms(value)} is above ${ms(threshold)}, ${this.#options.drift.factor}× its recent norm of ${ms(norm)}`
        : `Task ${JSON.stringify(task)}: p90 service time ${ms(value)} is back near its norm of ${ms(norm)}`,
    }, now);
  }

  /** One alert raised or cleared: logged once, counted, kept in the active list, sent to watchers. */
  #change(change: AlarmChange, alert: ActiveAlert, now: number): void {
    const key = `${alert.kind}|${alert.level}|${alert.task ?? ''}`;
    const o = this.#options;
    if (change === 'raised') {
      this.#active.set(key, alert);
      const countKey = `${alert.kind}|${alert.level}`;
      this.raisedCounts.set(countKey, (this.raisedCounts.get(countKey) ?? 0) + 1);
      o.logger.warn({ event: 'alert_raised', alert }, alert.message);
    } else {
      this.#active.delete(key);
      o.logger.info({ event: 'alert_cleared', alert }, alert.message);
    }
    const event: AlertEvent = { change, time: now, alert: { ...alert } };
    if (o.watched()) o.broadcast({ type: 'alert', event });
  }
}
