// BullMQ on Redis: an unbounded queue (BullMQ has no admission bound), results back to the
// submitter through QueueEvents. Jobs are removed once answered so Redis holds only the backlog.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { findPid, rssMiB } from './proc.js';
import { assertListening } from './reachable.js';
import { runTask, type Deployment, type Endpoint, type Producer, type RunConfig, type System } from './system.js';

const PORT = 6379;
const connection = { host: '127.0.0.1', port: PORT, maxRetriesPerRequest: null };
const BULLMQ_VERSION = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;

async function redisInfo(queue: Queue, section: string, field: string): Promise<string> {
  // BullMQ's client type narrows info() to no arguments; ioredis takes a section.
  const client = (await queue.client) as unknown as { info(section: string): Promise<string> };
  const info = await client.info(section);
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '?';
}

export const bullmq: System = {
  name: 'BullMQ',

  async version() {
    await assertListening('Redis', PORT);
    const queue = new Queue('sluice-bench-probe', { connection });
    try {
      return `BullMQ ${BULLMQ_VERSION}, Redis ${await redisInfo(queue, 'server', 'redis_version')}`;
    } finally {
      await queue.close();
    }
  },

  async setUp(): Promise<Deployment> {
    await assertListening('Redis', PORT);
    const name = `sluice-bench-${randomUUID()}`;
    const queue = new Queue(name, { connection });
    const pid = findPid('redis-server');
    return {
      endpoint: { name },
      ready: async () => (await queue.getWorkersCount()) > 0,
      async sample() {
        const counts = await queue.getJobCounts('waiting', 'prioritized');
        const usedBytes = Number(await redisInfo(queue, 'memory', 'used_memory'));
        return { depth: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0), rssMiB: pid === undefined ? Number.NaN : rssMiB(pid), reportedMiB: usedBytes / 2 ** 20 };
      },
      async tearDown() {
        await queue.obliterate({ force: true }).catch(() => {});
        await queue.close();
      },
    };
  },

  async startWorker(endpoint: Endpoint, config: RunConfig) {
    const worker = new Worker(String(endpoint['name']), async () => {
      await runTask(config.task);
      return null;
    }, { connection, concurrency: config.slots });
    await worker.waitUntilReady();
    return { close: () => worker.close(true) };
  },

  async openProducer(endpoint: Endpoint): Promise<Producer> {
    const name = String(endpoint['name']);
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    const waiting = new Map<string, () => void>();
    events.on('completed', ({ jobId }) => {
      waiting.get(jobId)?.();
      waiting.delete(jobId);
    });
    const prefix = randomUUID();
    let next = 0;
    return {
      submit() {
        const jobId = `${prefix}-${next++}`;
        // Registered before the add: the completion event may arrive before add() resolves.
        const answered = new Promise<'completed'>((resolve) => waiting.set(jobId, () => resolve('completed')));
        return queue.add('t', {}, { jobId, removeOnComplete: true, removeOnFail: true }).then(() => answered);
      },
      async close() {
        await events.close();
        await queue.close();
      },
    };
  },
};
