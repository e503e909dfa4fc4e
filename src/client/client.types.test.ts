// Type tests for the public client API: the `@ts-expect-error` lines must fail to compile (tsc
// reports an unused directive otherwise), and the well-typed calls run for real against a
// scripted manager that executes the same task module.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineTasks } from '../core/tasks.js';
import { connect, type Client, type TaskHandle } from './index.js';
import { ScriptedManager } from './scripted-manager.test-helpers.js';

const tasks = defineTasks({
  add: (args: { a: number; b: number }) => args.a + args.b,
  greet: async (args: { name: string }) => `hello ${args.name}`,
  answer: () => 42,
});
type Tasks = typeof tasks;

/** Never called: only compiled. Each misuse below must be a type error. */
function misuses(c: Client<Tasks>): void {
  // @ts-expect-error unknown task name
  void c.run('subtract', { a: 1, b: 2 });
  // @ts-expect-error wrong argument type
  void c.run('add', { a: '1', b: 2 });
  // @ts-expect-error missing argument field
  void c.run('add', { a: 1 });
  // @ts-expect-error arguments of another task
  void c.run('greet', { a: 1, b: 2 });
  // @ts-expect-error unknown task name for submit
  void c.submit('nope', {});
  // @ts-expect-error priority out of range
  void c.run('answer', undefined, { priority: 10 });
  // @ts-expect-error unknown priority name
  void c.run('answer', undefined, { priority: 'urgent' });
  // @ts-expect-error unknown event
  c.on('message', () => {});
  void (async () => {
    // @ts-expect-error the result of `add` is a number
    const s: string = await c.run('add', { a: 1, b: 2 });
    // @ts-expect-error the handle's result of `greet` is a string (the handler's promise unwrapped)
    const n: Promise<number> = (await c.submit('greet', { name: 'x' })).result;
    void s;
    void n;
  });
}

describe('client types', () => {
  let manager: ScriptedManager;
  before(async () => {
    manager = await ScriptedManager.start({
      script: (s, reply) => {
        const handler = tasks[s.name as keyof Tasks] as (args: unknown) => unknown;
        void Promise.resolve(handler(s.args)).then((result) => reply({ type: 'completed', id: s.id, result }));
      },
    });
  });
  after(() => manager.close());

  it('well-typed calls compile and return what the handlers return', async () => {
    assert.equal(typeof misuses, 'function');
    await using c = await connect<Tasks>({ manager: manager.address });
    const sum: number = await c.run('add', { a: 2, b: 3 });
    const greeting: string = await c.run('greet', { name: 'sluice' }, { priority: 'high' });
    const handle: TaskHandle<number> = await c.submit('answer', undefined, { priority: 9 });
    c.on('retry', (event) => {
      const delay: number = event.delayMs;
      void delay;
    });
    assert.equal(sum, 5);
    assert.equal(greeting, 'hello sluice');
    assert.equal(await handle.result, 42);
  });

  it('an untyped client accepts any name and arguments', async () => {
    await using c = await connect({ manager: manager.address });
    assert.equal(await c.run('add', { a: 1, b: 1 }), 2);
  });
});
