import { connect } from 'node:net';
import { ServerUnreachableError } from './system.js';

/** Rejects with ServerUnreachableError unless something accepts TCP connections at port. */
export function assertListening(name: string, port: number, timeoutMs = 1_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const fail = (why: string): void => {
      socket.destroy();
      reject(new ServerUnreachableError(`${name} is not reachable at 127.0.0.1:${port} (${why})`));
    };
    socket.setTimeout(timeoutMs, () => fail('timed out'));
    socket.once('error', (error) => fail(error.message));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
  });
}
