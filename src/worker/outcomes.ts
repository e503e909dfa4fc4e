import { MAX_NESTING, nestsDeeperThan } from '../protocol/codec.js';
import type { EndEvent, ExecutionStatus } from '../core/history/events.js';
import { historyTime } from '../protocol/history-file.js';
import type { Dispatch, Outcome } from '../protocol/messages.js';
import type { ExecutionResult } from './pool/types.js';

/**
 * The outcome message for an execution result. `runMs` (time on the slot) goes with completed and
 * failed attempts, for the manager's service-time estimates.
 */
export function outcomeOf(token: number, result: ExecutionResult, runMs: number): Outcome {
  switch (result.status) {
    case 'completed':
      // The outcome is one level around the result; the manager refuses deeper frames.
      return nestsDeeperThan(result.result, MAX_NESTING - 1)
        ? { type: 'outcome', token, status: 'failed', error: { name: 'ResultEncodeError', message: `The task result nests deeper than ${MAX_NESTING - 1} levels of objects and arrays` }, runMs }
        : { type: 'outcome', token, status: 'completed', result: result.result, runMs };
    case 'failed': return { type: 'outcome', token, status: 'failed', error: result.error, runMs };
    case 'crashed': return { type: 'outcome', token, status: 'crashed', error: result.error };
    default:
      // Stopped for shutdown: handed back, re-queued without using an attempt.
      return result.reason === 'shutdown'
        ? { type: 'outcome', token, status: 'returned' }
        : { type: 'outcome', token, status: 'aborted', reason: result.reason };
  }
}

/** Sent instead of a completed outcome whose result msgpack cannot encode. */
export function unencodableResult(token: number, runMs: number): Outcome {
  return { type: 'outcome', token, status: 'failed', error: { name: 'ResultEncodeError', message: 'The task result cannot be encoded for the wire (msgpack)' }, runMs };
}

/** The history record of an attempt's end; `delivered` is false when its link was gone. */
export function endEvent(dispatch: Dispatch, token: number, result: ExecutionResult, delivered: boolean, node: string): EndEvent {
  let status: ExecutionStatus = result.status;
  let reason: string | undefined;
  if (result.status === 'aborted') {
    if (result.reason === 'shutdown') status = 'returned';
    else reason = result.reason;
  }
  return {
    ev: 'end', at: historyTime(), id: dispatch.id, attempt: dispatch.attempt, token, node, pid: process.pid,
    status, ...(reason === undefined ? {} : { reason }), delivered,
  };
}
