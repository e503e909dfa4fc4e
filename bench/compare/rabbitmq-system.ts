// RabbitMQ: a classic queue bounded by x-max-length with x-overflow=reject-publish, publisher
// confirms (a refused publish is nacked: that is the peer's "busy"), results back on a reply queue.
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { findPid, rssMiB } from './proc.js';
import { assertListening } from './reachable.js';
import { runTask, type Deployment, type Endpoint, type Producer, type RunConfig, type System } from './system.js';

const PORT = 5672;
const URL = `amqp://guest:guest@127.0.0.1:${PORT}`;
// amqplib leaves Nagle's algorithm on; with small messages it adds ~40 ms per round trip.
const SOCKET = { noDelay: true };

export const rabbitmq: System = {
  name: 'RabbitMQ',

  async version() {
    await assertListening('RabbitMQ', PORT);
    const connection = await amqp.connect(URL, SOCKET);
    try {
      return `RabbitMQ ${String(connection.connection.serverProperties.version)}`;
    } finally {
      await connection.close();
    }
  },

  async setUp(config: RunConfig): Promise<Deployment> {
    await assertListening('RabbitMQ', PORT);
    const name = `sluice-bench-${randomUUID()}`;
    const connection = await amqp.connect(URL, SOCKET);
    const channel = await connection.createChannel();
    await channel.assertQueue(name, { durable: false, arguments: { 'x-max-length': config.bound, 'x-overflow': 'reject-publish' } });
    const pid = findPid('beam.smp');
    return {
      endpoint: { name },
      ready: async () => (await channel.checkQueue(name)).consumerCount > 0,
      sample: async () => ({ depth: (await channel.checkQueue(name)).messageCount, rssMiB: pid === undefined ? Number.NaN : rssMiB(pid) }),
      async tearDown() {
        await channel.deleteQueue(name).catch(() => {});
        await connection.close().catch(() => {});
      },
    };
  },

  async startWorker(endpoint: Endpoint, config: RunConfig) {
    const connection = await amqp.connect(URL, SOCKET);
    const channel = await connection.createChannel();
    await channel.prefetch(config.slots);
    await channel.consume(String(endpoint['name']), (message) => {
      if (message === null) return;
      void runTask(config.task).then(() => {
        channel.sendToQueue(message.properties.replyTo as string, Buffer.alloc(0), { correlationId: message.properties.correlationId as string });
        channel.ack(message);
      });
    });
    return { close: () => connection.close() };
  },

  async openProducer(endpoint: Endpoint): Promise<Producer> {
    const name = String(endpoint['name']);
    const connection = await amqp.connect(URL, SOCKET);
    const replies = await connection.createChannel();
    const { queue: replyTo } = await replies.assertQueue('', { exclusive: true });
    const waiting = new Map<string, (outcome: 'completed' | 'rejected') => void>();
    await replies.consume(replyTo, (message) => {
      if (message === null) return;
      const id = message.properties.correlationId as string;
      waiting.get(id)?.('completed');
      waiting.delete(id);
    }, { noAck: true });
    const publisher = await connection.createConfirmChannel();
    let next = 0;
    return {
      submit() {
        const correlationId = String(next++);
        return new Promise((resolve) => {
          waiting.set(correlationId, resolve);
          publisher.sendToQueue(name, Buffer.alloc(0), { correlationId, replyTo }, (error) => {
            if (error === null || error === undefined) return;
            // Nacked: the queue was at x-max-length.
            waiting.delete(correlationId);
            resolve('rejected');
          });
        });
      },
      close: () => connection.close(),
    };
  },
};
