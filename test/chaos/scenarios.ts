// The five fault scenarios of the chaos runner: their cluster, their load and their faults.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterSettings } from './cluster.js';
import type { ChaosCluster } from './cluster.js';
import type { ChaosClientConfig } from './client-process.js';
import type { Prng } from './prng.js';

export interface Scenario {
  /** What the scenario does, for --help and the README. */
  summary: string;
  cluster: ClusterSettings;
  /** Client load, less what the runner fills in (address, key, history, seed, seconds). */
  load: Omit<ChaosClientConfig, 'manager' | 'keyFile' | 'history' | 'seed' | 'seconds'>;
  /** Whether every `work` task must complete (no failure of any kind caused by the faults). */
  workMustComplete: boolean;
  /** Injects faults until `until` (performance.now() time); every loop is bounded by it. */
  faults(cluster: ChaosCluster, rng: Prng, until: number): Promise<void>;
}

/** Clients per run, each its own process. */
export const CLIENTS = 2;
const WORK_MS: [number, number] = [20, 60];

/** Tasks per second per client for `share` of the slots' capacity with `work` of WORK_MS. */
function rateFor(settings: ClusterSettings, share: number): number {
  const slots = settings.nodes.reduce((sum, n) => sum + n.capacity, 0);
  const meanMs = (WORK_MS[0] + WORK_MS[1]) / 2;
  return Math.round((slots * 1_000 / meanMs) * share / CLIENTS);
}

function steadyLoad(settings: ClusterSettings): Scenario['load'] {
  return {
    rate: rateFor(settings, 0.7), outstanding: 0, workMs: WORK_MS, longShare: 0, longMs: [0, 0], poisonShare: 0,
    timeoutMs: 60_000, loopTimeoutMs: 0, drainMs: 60_000,
  };
}

/** Sleeps until `until` at the latest; false when there is no time left. */
async function waitAtMost(ms: number, until: number): Promise<boolean> {
  const left = until - performance.now();
  if (left <= 0) return false;
  await sleep(Math.min(ms, left));
  return performance.now() < until;
}

const killCluster: ClusterSettings = {
  heartbeatMs: 500, maxAttempts: 3, drainTimeoutMs: 5_000,
  nodes: [
    { name: 'node-0', isolation: 'process', capacity: 4 },
    { name: 'node-1', isolation: 'process', capacity: 4 },
    { name: 'node-2', isolation: 'thread', capacity: 4, threads: 2 },
  ],
};

const pauseCluster: ClusterSettings = {
  heartbeatMs: 300, maxAttempts: 3, drainTimeoutMs: 5_000,
  nodes: [0, 1, 2].map((i) => ({ name: `node-${i}`, isolation: 'thread' as const, capacity: 4, threads: 2 })),
};

const managerCluster: ClusterSettings = {
  heartbeatMs: 500, maxAttempts: 3, drainTimeoutMs: 5_000,
  nodes: [0, 1, 2].map((i) => ({ name: `node-${i}`, isolation: 'thread' as const, capacity: 8, threads: 2 })),
};

const poisonCluster: ClusterSettings = {
  heartbeatMs: 500, maxAttempts: 3, drainTimeoutMs: 5_000,
  nodes: [
    // One task per thread, so a poison task takes down only its own thread.
    { name: 'node-0', isolation: 'thread', capacity: 4, threads: 4, maxHeapMb: 64 },
    { name: 'node-1', isolation: 'thread', capacity: 4, threads: 4, maxHeapMb: 64 },
    // One slot: after a crash its next task can only run on a replacement thread.
    { name: 'single', isolation: 'thread', capacity: 1, threads: 1, maxHeapMb: 64 },
  ],
};

// A drain timeout shorter than the long tasks: every restart hands some running tasks back.
const rollingCluster: ClusterSettings = {
  heartbeatMs: 500, maxAttempts: 3, drainTimeoutMs: 300,
  nodes: [0, 1, 2].map((i) => ({ name: `node-${i}`, isolation: 'thread' as const, capacity: 4, threads: 2 })),
};

export const SCENARIOS: Record<string, Scenario> = {
  kill: {
    summary: 'kill -9 of pool processes and of whole worker nodes (restarted after 1–5 s) at 70% of capacity',
    cluster: killCluster,
    load: steadyLoad(killCluster),
    workMustComplete: false,
    async faults(cluster, rng, until) {
      const restarts: Promise<void>[] = [];
      while (await waitAtMost(rng.int(500, 2_000), until)) {
        const live = cluster.liveNodes;
        const withChildren = live.filter((name) => cluster.nodes.get(name)!.spec.isolation === 'process');
        if (rng.chance(0.5) && withChildren.length > 0) {
          cluster.killChild(rng.pick(withChildren), rng);
        } else if (live.length === cluster.nodes.size) {
          // One node down at a time: the load stays below what the other nodes can carry.
          const name = rng.pick(live);
          cluster.killNode(name);
          const downMs = rng.int(1_000, 5_000);
          const restart = sleep(downMs).then(() => cluster.startNode(name));
          restart.catch(() => {}); // reported by Promise.all below, after the loop
          restarts.push(restart);
        }
      }
      await Promise.all(restarts);
    },
  },
  pause: {
    summary: 'SIGSTOP/SIGCONT of a worker node for longer than the heartbeat timeout, at 70% of capacity',
    cluster: pauseCluster,
    load: steadyLoad(pauseCluster),
    workMustComplete: false,
    async faults(cluster, rng, until) {
      const timeoutMs = cluster.settings.heartbeatMs * 3;
      while (await waitAtMost(rng.int(1_000, 3_000), until)) {
        const name = rng.pick(cluster.liveNodes);
        cluster.pauseNode(name);
        await sleep(timeoutMs + rng.int(300, 1_200));
        cluster.resumeNode(name);
      }
    },
  },
  manager: {
    summary: 'kill -9 and restart of the manager while clients hold thousands of outstanding tasks',
    cluster: managerCluster,
    load: { rate: 5_000, outstanding: 1_500, workMs: [1, 5], longShare: 0, longMs: [0, 0], poisonShare: 0, timeoutMs: 120_000, loopTimeoutMs: 0, drainMs: 90_000 },
    workMustComplete: true,
    async faults(cluster, rng, until) {
      while (await waitAtMost(rng.int(1_500, 3_500), until)) {
        cluster.killManager();
        await sleep(rng.int(500, 3_000));
        await cluster.startManager();
      }
    },
  },
  poison: {
    summary: 'poison tasks (throw, process.exit, endless loop, out of memory, unhandled rejection) among ordinary work',
    cluster: poisonCluster,
    // 1%: an endless loop burns a core until its deadline plus the abort grace, and out-of-memory
    // poison burns one while it fills its heap; more would starve a small machine of CPU, and the
    // ordinary tasks would expire for want of it, not for anything sluice does.
    load: { ...steadyLoad(poisonCluster), poisonShare: 0.01, loopTimeoutMs: 500 },
    workMustComplete: true,
    async faults(_cluster, _rng, until) {
      while (await waitAtMost(1_000, until)) { /* the poison is in the load */ }
    },
  },
  rolling: {
    summary: 'SIGTERM rolling restart of every worker node in turn, at 70% of capacity',
    cluster: rollingCluster,
    load: { ...steadyLoad(rollingCluster), longShare: 0.02, longMs: [500, 1_500] },
    workMustComplete: true,
    async faults(cluster, rng, until) {
      const names = [...cluster.nodes.keys()];
      for (let i = 0; await waitAtMost(rng.int(200, 1_000), until); i++) {
        const name = names[i % names.length]!;
        await cluster.terminateNode(name);
        await cluster.startNode(name);
      }
    },
  },
};
