// Example task module: `npx sluice dev --tasks examples/tasks.js`, then
//   npx sluice run hello '{"name":"Ada"}'
//   npx sluice run resize '{"width":300}' --priority high --timeout 2000
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTasks } from 'sluice';

export default defineTasks({
  /** Answers at once: the smallest possible task. */
  async hello(args) {
    return { greeting: `Hello, ${args?.name ?? 'world'}!` };
  },

  /** Pretends to resize an image; honours its deadline through ctx.signal. */
  async resize(args, ctx) {
    await sleep(20, undefined, { signal: ctx.signal });
    return { ok: true, width: args.width, attempt: ctx.attempt };
  },

  /** Burns CPU for `ms` milliseconds (checking its signal), to see slots fill up. */
  async spin(args, ctx) {
    const until = Date.now() + (args?.ms ?? 50);
    while (Date.now() < until) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
    }
    return { spun: args?.ms ?? 50 };
  },

  /** Always fails, to see how failures are answered. */
  async fail(args) {
    throw new Error(args?.message ?? 'this task always fails');
  },
});
