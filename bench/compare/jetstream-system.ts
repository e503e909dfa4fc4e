// NATS JetStream: a WorkQueue stream bounded by max_msgs with discard=new (a publish past the
// bound is refused: that is the peer's "busy"), one pull consumer whose max_ack_pending is the
// slots, results back on a core NATS subject of the submitter.
import { randomUUID } from 'node:crypto';
import { AckPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { findPid, rssMiB } from './proc.js';
import { assertListening } from './reachable.js';
import { runTask, type Deployment, type Endpoint, type Producer, type RunConfig, type System } from './system.js';

const PORT = 4222;
const servers = `127.0.0.1:${PORT}`;
const CONSUMER = 'workers';

export const natsJetStream: System = {
  name: 'NATS JetStream',

  async version() {
    await assertListening('NATS', PORT);
    const nc = await connect({ servers });
    try {
      return `nats-server ${nc.info?.version ?? '?'}`;
    } finally {
      await nc.close();
    }
  },

  async setUp(config: RunConfig): Promise<Deployment> {
    await assertListening('NATS', PORT);
    const stream = `SLUICE_BENCH_${randomUUID().replaceAll('-', '')}`;
    const subject = `sluice-bench.${stream}`;
    const nc = await connect({ servers });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: stream, subjects: [subject], retention: RetentionPolicy.Workqueue,
      max_msgs: config.bound, discard: DiscardPolicy.New, storage: StorageType.Memory,
    });
    await jsm.consumers.add(stream, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit, max_ack_pending: config.slots });
    const pid = findPid('nats-server');
    return {
      endpoint: { stream, subject },
      ready: async () => ((await jsm.consumers.info(stream, CONSUMER)).num_waiting ?? 0) > 0,
      sample: async () => ({ depth: (await jsm.consumers.info(stream, CONSUMER)).num_pending, rssMiB: pid === undefined ? Number.NaN : rssMiB(pid) }),
      async tearDown() {
        await jsm.streams.delete(stream).catch(() => {});
        await nc.close();
      },
    };
  },

  async startWorker(endpoint: Endpoint, config: RunConfig) {
    const nc = await connect({ servers });
    const consumer = await jetstream(nc).consumers.get(String(endpoint['stream']), CONSUMER);
    const messages = await consumer.consume({ max_messages: config.slots });
    void (async () => {
      for await (const message of messages) {
        void runTask(config.task).then(() => {
          const text = message.string();
          const space = text.indexOf(' ');
          nc.publish(text.slice(0, space), text.slice(space + 1));
          message.ack();
        });
      }
    })();
    return { close: () => nc.close() };
  },

  async openProducer(endpoint: Endpoint): Promise<Producer> {
    const nc = await connect({ servers });
    const js = jetstream(nc);
    const inbox = `sluice-bench.replies.${randomUUID()}`;
    const waiting = new Map<string, () => void>();
    nc.subscribe(inbox, {
      callback: (_error, message) => {
        const id = message.string();
        waiting.get(id)?.();
        waiting.delete(id);
      },
    });
    await nc.flush();
    const subject = String(endpoint['subject']);
    let next = 0;
    return {
      submit() {
        const id = String(next++);
        const answered = new Promise<'completed'>((resolve) => waiting.set(id, () => resolve('completed')));
        return js.publish(subject, `${inbox} ${id}`).then(() => answered, (error: unknown) => {
          waiting.delete(id);
          // 10077: maximum messages exceeded, the stream is at max_msgs and discards new.
          if (error instanceof JetStreamApiError && error.code === 10077) return 'rejected' as const;
          throw error;
        });
      },
      close: () => nc.close(),
    };
  },
};
