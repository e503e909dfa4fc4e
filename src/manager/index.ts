export { startManager, Manager } from './manager.js';
export type { ManagerSnapshot, WorkerSnapshot } from './manager.js';
export { resolveManagerOptions } from './options.js';
export type { ManagerOptions, ResolvedManagerOptions } from './options.js';
export { ManagerStats } from './stats.js';
export type { StatusSnapshot } from './status.js';
