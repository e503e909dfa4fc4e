import type { Priority } from '../core/priority.js';
import type { AlertEvent, StatusSnapshot } from './status.js';

/**
 * Every message on the wire, as a union keyed on `type`. One frame carries one message.
 * Inbound messages are checked by `validate*` in `validate.ts` before any code sees them.
 *
 * Deadlines travel as remaining milliseconds (`deadlineMs`) measured when the frame is written,
 * never as wall-clock times: peers' clocks need not agree.
 */

export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];

export type Role = 'client' | 'worker';

// ── handshake (see auth.ts for the MAC transcript) ────────────────────────────────────────────

/** Server → peer, the only bytes a peer receives before it has proven the key. */
export interface Hello { type: 'hello'; versions: number[]; nonce: Uint8Array; auth: boolean }
/** Peer → server: chosen version, role, the peer's nonce and its proof of the key. */
export interface Auth { type: 'auth'; version: number; role: Role; nonce: Uint8Array; mac: Uint8Array; name?: string }
/** Server → peer: the server's proof of the key; the session is open after this. */
export interface Welcome { type: 'welcome'; mac: Uint8Array; managerId: string; heartbeatMs: number }

// ── both directions, after the handshake ──────────────────────────────────────────────────────

/** Keep-alive; any frame counts as proof of life, `ping` is sent only on an otherwise idle link. */
export interface Ping { type: 'ping' }

// ── client → manager ──────────────────────────────────────────────────────────────────────────

export interface Submit {
  type: 'submit';
  /** Chosen by the client; resubmitting the same id attaches to the queued or running task. */
  id: string;
  name: string;
  args: unknown;
  priority: Priority;
  /** Remaining time before the task is worthless, in ms, when the frame was written. */
  deadlineMs?: number;
  /** Executions to try when a worker is lost mid-task; the manager's default when absent. */
  maxAttempts?: number;
  /** Ask for a `started` notice when the task is dispatched (used by the gateway's job states). */
  notifyStart?: boolean;
}
export interface Cancel { type: 'cancel'; id: string }
/** Asks for one status snapshot, answered by a `status` carrying the same `ref`. */
export interface StatusRequest { type: 'status_request'; ref: number }
/**
 * Starts (`on: true`) or stops a subscription: a `status` every second and an `alert` on each
 * alert raised or cleared, until stopped or the link closes.
 */
export interface Watch { type: 'watch'; on: boolean }

export type ClientMessage = Submit | Cancel | StatusRequest | Watch | Ping;

// ── manager → client: exactly one final answer per submitted id ─────────────────────────────

export type BusyReason = 'full' | 'latency' | 'deadline' | 'displaced' | 'no_workers' | 'draining';

export interface Completed { type: 'completed'; id: string; result: unknown }
export interface Failed { type: 'failed'; id: string; error: { name: string; message: string; stack?: string } }
export interface Busy { type: 'busy'; id: string; reason: BusyReason; retryAfterMs: number }
export interface Expired { type: 'expired'; id: string }
export interface Cancelled { type: 'cancelled'; id: string }
export interface WorkerLost { type: 'worker_lost'; id: string; attempts: number }
/** Not final: the task has been dispatched to a worker (only when `notifyStart` was asked). */
export interface Started { type: 'started'; id: string; attempt: number }

export type Answer = Completed | Failed | Busy | Expired | Cancelled | WorkerLost;
/** A snapshot: the answer to a `status_request` (with its `ref`) or a watcher's tick (no `ref`). */
export interface Status { type: 'status'; ref?: number; snapshot: StatusSnapshot }
/** To watchers: an alert was raised or cleared. */
export interface Alert { type: 'alert'; event: AlertEvent }

export type ManagerToClient = Answer | Started | Status | Alert | Ping;

// ── manager → worker ──────────────────────────────────────────────────────────────────────────

export interface Dispatch {
  type: 'dispatch';
  /** Identifies this attempt; outcomes carrying an older token are stale and ignored. */
  token: number;
  id: string;
  name: string;
  args: unknown;
  attempt: number;
  deadlineMs?: number;
}
export type AbortReason = 'cancelled' | 'expired' | 'shutdown';
export interface AbortTask { type: 'abort'; token: number; reason: AbortReason }

export type ManagerToWorker = Dispatch | AbortTask | Ping;

// ── worker → manager ──────────────────────────────────────────────────────────────────────────

export interface Register {
  type: 'register';
  nodeId: string;
  /** Slots free for new tasks now (total capacity less tasks still running from a lost link). */
  capacity: number;
  /**
   * Tasks the node will hold beyond its free slots, each starting the moment a slot frees, so a
   * slot does not idle for a manager round trip between two tasks. Absent = 0.
   */
  prefetch?: number;
  tasks: string[];
}
/** Free slots changed outside the manager's view: drain (0), or leftovers of a lost link finished. */
export interface Capacity { type: 'capacity'; capacity: number }

export type Outcome =
  /** `runMs`: from the moment the attempt started on a slot to its end (it may have been held first). */
  | { type: 'outcome'; token: number; status: 'completed'; result: unknown; runMs?: number }
  | { type: 'outcome'; token: number; status: 'failed'; error: { name: string; message: string; stack?: string }; runMs?: number }
  /** The thread or process running it died: counts as a lost attempt. */
  | { type: 'outcome'; token: number; status: 'crashed'; error: { name: string; message: string } }
  /** Never started or handed back while draining: re-queued without using up an attempt. */
  | { type: 'outcome'; token: number; status: 'returned' }
  /** Ended by an `abort` from the manager (or the deadline inside the worker). */
  | { type: 'outcome'; token: number; status: 'aborted'; reason: AbortReason };

export type WorkerMessage = Register | Capacity | Outcome | Ping;

export type Message = Hello | Auth | Welcome | ClientMessage | ManagerToClient | ManagerToWorker | WorkerMessage;
