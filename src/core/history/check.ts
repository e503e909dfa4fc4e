import type { AnswerEvent, EndEvent, FaultEvent, HistoryEvent, StartEvent, StrayEvent, SubmitEvent } from './events.js';

export interface CheckOptions {
  /** A task counts as lost when it has no answer by its deadline plus this. @default 1000 */
  lostGraceMs?: number;
  /**
   * An attempt that ended this long before a fault on its node (or the manager), or started this
   * long after it, still counts as touched by it: its outcome or its dispatch may have been in a
   * socket buffer when the fault hit. @default 1000
   */
  inFlightSlackMs?: number;
  /** How many ids each list in the verdict names at most. @default 20 */
  sampleSize?: number;
}

export interface LatencySummary { count: number; missing: number; p50: number | null; p99: number | null; max: number | null }

export interface Verdict {
  ok: boolean;
  accepted: number;
  answered: number;
  outcomes: Record<string, number>;
  /** Answers by task name, then outcome. */
  outcomesByTask: Record<string, Record<string, number>>;
  /** Accepted, with no answer by deadline + lostGraceMs (or none at all). */
  lost: { count: number; ids: string[] };
  /** Answered more than once by the manager. */
  duplicateAnswers: { count: number; ids: string[] };
  /** Answers for ids no client submitted. */
  unexpectedAnswers: { count: number; ids: string[] };
  /** Executions of ids no client submitted. */
  unexpectedExecutions: { count: number; ids: string[] };
  executions: number;
  /**
   * Executions beyond one per task. Explained when an earlier attempt of the same task was on a
   * faulted node (killed, paused, crashed thread, lost link, handed back); otherwise unexplained.
   */
  extraExecutions: { count: number; explained: number; unexplained: number; ids: string[] };
  /** Results of superseded attempts (finished after the task was dispatched again); `delivered` reached a manager, which must ignore them. */
  staleResults: { count: number; delivered: number };
  /** Manager answers for tasks the client had already given up on locally (expired, aborted): benign. */
  lateAnswers: number;
  /** The most executions of one task, per task name. */
  executionsPerTask: Record<string, number>;
  /** From a fault to the next start of each attempt it interrupted, in ms. */
  redispatch: { kill: LatencySummary; pause: LatencySummary; manager: LatencySummary };
  faults: Record<string, number>;
}

interface Attempt { start: StartEvent; end: EndEvent | undefined }

/**
 * Judges a history against sluice's promises: every accepted task answered exactly once by its
 * deadline + grace, nothing answered or executed that nobody submitted, and extra executions only
 * where a fault explains them. Pure: the same events give the same verdict.
 */
export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions = {}): Verdict {
  const lostGraceMs = options.lostGraceMs ?? 1_000;
  const slackMs = options.inFlightSlackMs ?? 1_000;
  const sample = options.sampleSize ?? 20;

  const submits = new Map<string, SubmitEvent>();
  const answers = new Map<string, AnswerEvent[]>();
  const strays: StrayEvent[] = [];
  const attempts = new Map<string, Attempt[]>();
  const byToken = new Map<string, Attempt>();
  const faults: FaultEvent[] = [];
  for (const event of events) {
    switch (event.ev) {
      case 'submit': submits.set(event.id, event); break;
      case 'answer': push(answers, event.id, event); break;
      case 'stray': strays.push(event); break;
      case 'start': {
        const attempt: Attempt = { start: event, end: undefined };
        push(attempts, event.id, attempt);
        byToken.set(attemptKey(event), attempt);
        break;
      }
      case 'end': {
        const attempt = byToken.get(attemptKey(event));
        if (attempt !== undefined) attempt.end = event;
        break;
      }
      case 'fault': faults.push(event); break;
      default: break;
    }
  }

  const outcomes: Record<string, number> = {};
  const outcomesByTask: Record<string, Record<string, number>> = {};
  const lost: string[] = [];
  const duplicates = new Set<string>();
  let answered = 0;
  for (const [id, submit] of submits) {
    const list = answers.get(id);
    const first = list?.[0];
    if (first === undefined || (submit.deadline !== null && first.at > submit.deadline + lostGraceMs)) {
      lost.push(id);
      if (first === undefined) continue;
    }
    answered++;
    outcomes[first.outcome] = (outcomes[first.outcome] ?? 0) + 1;
    const byOutcome = (outcomesByTask[submit.name] ??= {});
    byOutcome[first.outcome] = (byOutcome[first.outcome] ?? 0) + 1;
    if (list!.length > 1) duplicates.add(id);
  }
  const unexpectedAnswers = new Set<string>();
  for (const id of answers.keys()) if (!submits.has(id)) unexpectedAnswers.add(id);
  let lateAnswers = 0;
  for (const stray of strays) {
    const list = answers.get(stray.id);
    if (!submits.has(stray.id) || list === undefined) unexpectedAnswers.add(stray.id);
    else if (list.some((a) => a.via === 'manager')) duplicates.add(stray.id);
    else lateAnswers++;
  }

  // A dispatch can be in flight when a fault hits: a node reads it only just after the manager was
  // killed, or — if the node was paused — once resumed. The fault touches such an attempt too.
  const resumes = new Map<FaultEvent, number>();
  for (const fault of faults) {
    if (fault.kind !== 'pause') continue;
    const resume = faults.find((f) => f.kind === 'resume' && f.pid === fault.pid && f.at >= fault.at);
    resumes.set(fault, resume === undefined ? Infinity : resume.at);
  }
  const touchedBy = (attempt: Attempt): FaultEvent | undefined => {
    const { start, end } = attempt;
    const until = end === undefined ? Infinity : end.at + slackMs;
    return faults.find((f) => isInterruption(f) && (f.target === 'manager' || f.pid === start.pid)
      && f.at <= until && (f.at >= start.at - slackMs || (f.kind === 'pause' && start.at <= resumes.get(f)! + slackMs)));
  };
  const isFaulted = (attempt: Attempt): boolean => {
    const end = attempt.end;
    if (end === undefined || !end.delivered || end.status === 'crashed' || end.status === 'aborted' || end.status === 'returned') return true;
    return touchedBy(attempt) !== undefined;
  };

  let executions = 0;
  let extra = 0;
  let unexplained = 0;
  const unexplainedIds: string[] = [];
  const unexpectedExecutions: string[] = [];
  const executionsPerTask: Record<string, number> = {};
  let stale = 0;
  let staleDelivered = 0;
  for (const [id, list] of attempts) {
    executions += list.length;
    if (!submits.has(id)) unexpectedExecutions.push(id);
    list.sort((a, b) => a.start.at - b.start.at);
    const name = list[0]!.start.name;
    executionsPerTask[name] = Math.max(executionsPerTask[name] ?? 0, list.length);
    if (list.length === 1) continue;
    extra += list.length - 1;
    // Each faulted attempt explains one execution more than the one a task needs.
    let faulted = 0;
    for (let i = 0; i < list.length; i++) {
      const attempt = list[i]!;
      if (isFaulted(attempt)) faulted++;
      if (i === list.length - 1) break;
      const end = attempt.end;
      if (end !== undefined && (end.status === 'completed' || end.status === 'failed') && end.at >= list[i + 1]!.start.at) {
        stale++;
        if (end.delivered) staleDelivered++;
      }
    }
    const missing = list.length - 1 - faulted;
    if (missing > 0) {
      unexplained += missing;
      unexplainedIds.push(id);
    }
  }

  const delays = { kill: [] as number[], pause: [] as number[], manager: [] as number[] };
  const missing = { kill: 0, pause: 0, manager: 0 };
  for (const fault of faults) {
    const kind = fault.target === 'manager' ? 'manager' : fault.kind === 'pause' ? 'pause' : fault.kind === 'kill' || fault.kind === 'kill-child' ? 'kill' : undefined;
    if (kind === undefined || fault.kind === 'term' || !isInterruption(fault)) continue;
    for (const list of attempts.values()) {
      for (let i = 0; i < list.length; i++) {
        const attempt = list[i]!;
        if (!interrupted(attempt, fault)) continue;
        const next = list.slice(i + 1).find((a) => a.start.at > fault.at);
        if (next === undefined) missing[kind]++;
        else delays[kind].push(next.start.at - fault.at);
      }
    }
  }

  const faultCounts: Record<string, number> = {};
  for (const fault of faults) {
    const key = `${fault.target === 'manager' ? 'manager' : 'node'}-${fault.kind}`;
    faultCounts[key] = (faultCounts[key] ?? 0) + 1;
  }
  const ok = lost.length === 0 && duplicates.size === 0 && unexpectedAnswers.size === 0 && unexpectedExecutions.length === 0 && unexplained === 0;
  return {
    ok,
    accepted: submits.size,
    answered,
    outcomes,
    outcomesByTask,
    lost: { count: lost.length, ids: lost.slice(0, sample) },
    duplicateAnswers: { count: duplicates.size, ids: [...duplicates].slice(0, sample) },
    unexpectedAnswers: { count: unexpectedAnswers.size, ids: [...unexpectedAnswers].slice(0, sample) },
    unexpectedExecutions: { count: unexpectedExecutions.length, ids: unexpectedExecutions.slice(0, sample) },
    executions,
    extraExecutions: { count: extra, explained: extra - unexplained, unexplained, ids: unexplainedIds.slice(0, sample) },
    staleResults: { count: stale, delivered: staleDelivered },
    lateAnswers,
    executionsPerTask,
    redispatch: {
      kill: summarize(delays.kill, missing.kill),
      pause: summarize(delays.pause, missing.pause),
      manager: summarize(delays.manager, missing.manager),
    },
    faults: faultCounts,
  };
}

/** One line for a terminal: the verdict and its counts. */
export function summaryLine(verdict: Verdict): string {
  const n = (value: number): string => value.toLocaleString('en-US');
  const ms = (s: LatencySummary): string => (s.p99 === null ? 'n/a' : `${n(Math.round(s.p99))} ms (${n(s.count)})`);
  const x = verdict.extraExecutions;
  return `${verdict.ok ? 'PASS' : 'FAIL'}: ${n(verdict.accepted)} accepted, ${n(verdict.lost.count)} lost, `
    + `${n(verdict.duplicateAnswers.count)} duplicate answers, ${n(verdict.unexpectedAnswers.count + verdict.unexpectedExecutions.count)} unexpected, `
    + `${n(x.count)} extra executions (${n(x.unexplained)} unexplained), ${n(verdict.staleResults.count)} stale results; `
    + `re-dispatch p99: kill ${ms(verdict.redispatch.kill)}, pause ${ms(verdict.redispatch.pause)}, manager ${ms(verdict.redispatch.manager)}`;
}

/** Faults after which a node's running attempts may be lost or repeated. */
function isInterruption(fault: FaultEvent): boolean {
  return fault.kind === 'kill' || fault.kind === 'kill-child' || fault.kind === 'pause' || fault.kind === 'term';
}

/** Whether `fault` cut `attempt` short: it was running there when the fault hit. */
function interrupted(attempt: Attempt, fault: FaultEvent): boolean {
  const { start, end } = attempt;
  if (fault.target !== 'manager' && fault.pid !== start.pid) return false;
  if (start.at > fault.at || (end !== undefined && end.at < fault.at)) return false;
  // A killed child takes only its own task, which the node reports crashed.
  if (fault.kind === 'kill-child') return end !== undefined && end.status === 'crashed';
  return true;
}

function attemptKey(event: StartEvent | EndEvent): string {
  return `${event.pid}:${event.token}`;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function summarize(values: number[], missing: number): LatencySummary {
  if (values.length === 0) return { count: 0, missing, p50: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { count: sorted.length, missing, p50: round(rank(0.5)), p99: round(rank(0.99)), max: round(sorted[sorted.length - 1]!) };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
