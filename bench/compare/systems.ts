import { bullmq } from './bullmq-system.js';
import { natsJetStream } from './jetstream-system.js';
import { rabbitmq } from './rabbitmq-system.js';
import { sluice } from './sluice-system.js';
import type { System } from './system.js';

export const SYSTEMS: readonly System[] = [sluice, bullmq, rabbitmq, natsJetStream];

export function systemNamed(name: string): System {
  const system = SYSTEMS.find((s) => s.name === name);
  if (system === undefined) throw new Error(`Expected a system name (${SYSTEMS.map((s) => s.name).join(', ')}), got ${JSON.stringify(name)}`);
  return system;
}
