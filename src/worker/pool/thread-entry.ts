/**
 * Runs inside every pool thread (thread-backend.ts). Loads the configured task module once — never
 * a path from wire data — and executes the runs the pool posts, answering their outcomes.
 *
 * Invariants:
 * - A handler's error never escapes: it becomes a FAILED outcome (task-module.ts). So a thread
 *   that exits with runs unanswered died (process.exit, out of memory, an unhandled rejection, or
 *   terminated by the pool), and the pool treats those runs as crashed.
 * - Outcomes are posted in batches, one per event-loop turn (setImmediate), as runs arrive in
 *   batches: the hand-over costs one message each way per turn rather than per task.
 * - Timing lives on the pool's side (one timer for all slots): it sends an abort at the deadline
 *   and terminates the thread if the handler ignores it. This side only turns aborts into
 *   `ctx.signal` events, through the message or the shared abort table, whichever comes first.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { ModuleRunner, serializeError } from './task-module.js';
import { OUTCOME_FAILED, RUN_FIELDS, unpackRun, type AbortCode, type EntryOutcome, type MainToThread, type TaskPayload, type ThreadToMain, type ThreadWorkerData } from './wire.js';

const data = workerData as ThreadWorkerData;
const port = parentPort!;
const startedTable = new Int32Array(data.started);
const abortTable = new Int32Array(data.aborts);
const runner = new ModuleRunner(data.tasksModule);

let outcomes: unknown[] = [];
let flushScheduled = false;

function answer(token: number, outcome: EntryOutcome): void {
  outcomes.push(token, outcome[0], outcome[1]);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function flush(): void {
  flushScheduled = false;
  const batch = outcomes;
  outcomes = [];
  post(batch);
}

/** One result that cannot be cloned must not take the others with it: they are posted one by one. */
function post(batch: unknown[]): void {
  try {
    send({ type: 'outcomes', outcomes: batch });
  } catch (error) {
    if (batch.length > 3) {
      for (let i = 0; i < batch.length; i += 3) post(batch.slice(i, i + 3));
      return;
    }
    const { message } = serializeError(error);
    send({ type: 'outcomes', outcomes: [batch[0], OUTCOME_FAILED, { name: 'DataCloneError', message: `The task's result cannot be passed back from its thread: ${message}` }] });
  }
}

function send(message: ThreadToMain): void {
  port.postMessage(message);
}

function start(payload: TaskPayload): void {
  void runner.execute(payload, (run) => {
    // Tells the pool this thread runs the slot (so it can terminate it if the handler ignores
    // its signal), and reads an abort requested before the run got here.
    Atomics.store(startedTable, payload.slot, threadId);
    const early = Atomics.load(abortTable, payload.slot);
    if (early !== 0) run.abort(early as AbortCode);
  }).then((outcome) => answer(payload.token, outcome));
}

port.on('message', (message: MainToThread) => {
  switch (message.type) {
    case 'run': {
      const runs = message.runs;
      for (let at = 0; at < runs.length; at += RUN_FIELDS) start(unpackRun(runs, at));
      break;
    }
    case 'abort':
      runner.running.get(message.token)?.abort(message.code);
      break;
    case 'describe':
      void runner.describe().then((outcome) => send({ type: 'described', outcome }));
      break;
  }
});
