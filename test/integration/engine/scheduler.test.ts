import { copyFileSync, mkdirSync } from 'node:fs';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type GenerateRequest } from '../../../src/shared/engine';
import type { SlotEvent } from '../../../src/shared/slot-state';
import type { Clock } from '../../../src/main/core/engine/clock';
import { systemMemory } from '../../../src/main/core/engine/hardware';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { Scheduler, type SchedulerSettings } from '../../../src/main/core/engine/scheduler';
import type { ModelRecord, ModelVariant } from '../../../src/main/core/library/model-record';
import { chooseVariant } from '../../../src/main/core/library/variant-choice';
import { MAX_TIMER_MS } from '../../../src/main/core/model-policy';
import { BUILT_RUNNER, startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { installFixture, TINY_LM } from '../../fixtures/models';

/** Time that moves only when the test says so; records every timer it was asked for. */
class ManualClock implements Clock {
  #now = 1_000_000;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #next = 1;
  readonly requested: number[] = [];

  now(): number {
    return this.#now;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    this.requested.push(ms);
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  /** Moves time forward, running every timer that comes due. */
  advance(ms: number): void {
    this.#now += ms;
    for (const [id, timer] of [...this.#timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.#now) continue;
      this.#timers.delete(id);
      timer.callback();
    }
  }
}

const countRequest: GenerateRequest = {
  prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Hi' }] },
  maxTokens: 1,
  stop: [],
  sampling: GREEDY,
};

const SETTINGS: SchedulerSettings = {
  quantize: 'off',
  providers: ['cpu'],
  threads: 1,
  keepAliveMs: 300_000,
  maxLoadedModels: 3,
  memoryBudgetBytes: 4 * 1024 ** 3,
  queueLimit: 8,
  parallel: 1,
};

describe('scheduler lifecycles, with real runners and a manual clock', () => {
  let core: TestCore;
  let tiny: { record: ModelRecord; fp32: ModelVariant; q4: ModelVariant };
  const schedulers: Scheduler[] = [];
  const dir = tempDir();

  beforeAll(async () => {
    // Models with two variants (the same graph twice), to switch between. The cases over HTTP each
    // have their own model id, so that none depends on what an earlier case left loaded.
    for (const id of ['test/two', 'test/keep', 'test/crash', 'test/events']) {
      const folder = installFixture(TINY_LM, join(dir.path, 'models'), id);
      copyFileSync(join(folder, 'onnx/model.onnx'), join(folder, 'onnx/model_q4.onnx'));
    }
    mkdirSync(join(dir.path, 'cache'), { recursive: true });
    // One generation at a time: the cases over HTTP are about requests queued behind another.
    core = await startTestCore({ dataDir: dir.path, env: { LODGE_PARALLEL: '1' } });
    const { record } = core.lodge.engine.resolve('test/two');
    tiny = { record, fp32: chooseVariant(record, 'fp32'), q4: chooseVariant(record, 'q4') };
    expect(tiny.q4.name).toBe('q4');
  });
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((scheduler) => scheduler.dispose()));
  });
  afterAll(async () => {
    await core.dispose();
    dir.remove();
  });

  function scheduler(overrides: Partial<SchedulerSettings> = {}) {
    const clock = new ManualClock();
    const made = new Scheduler({
      settings: () => ({ ...SETTINGS, ...overrides }),
      spawn: (modelId) => new RunnerProcess(modelId, BUILT_RUNNER),
      cacheDir: join(dir.path, 'cache'),
      clock,
      memory: systemMemory,
      logger: pino({ level: 'silent' }),
    });
    const events: SlotEvent[] = [];
    made.onSlot((event) => events.push(event));
    schedulers.push(made);
    return { scheduler: made, clock, events };
  }

  it('says once that a provider is not available here, not on every load', async () => {
    const lines: string[] = [];
    const made = new Scheduler({
      settings: () => ({ ...SETTINGS, providers: ['webgpu', 'cpu'] }),
      spawn: (modelId) => new RunnerProcess(modelId, BUILT_RUNNER),
      cacheDir: join(dir.path, 'cache'),
      clock: new ManualClock(),
      memory: systemMemory,
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    });
    schedulers.push(made);
    for (const variant of [tiny.fp32, tiny.q4, tiny.fp32]) {
      const lease = await made.acquire(tiny.record, variant);
      expect(lease.info.provider).toBe('cpu');
      lease.release();
      await made.unload('test/two');
    }
    const loads = lines.filter((line) => line.includes('"loaded test/two on cpu"'));
    const announced = lines.filter((line) => line.includes('webgpu is not available here'));
    expect(loads).toHaveLength(3);
    expect(announced).toHaveLength(1);
  });

  it('an unload during the load waits for the requests awaiting it, serves them, then unloads', async () => {
    const { scheduler: s, events } = scheduler();
    const leased = s.acquire(tiny.record, tiny.fp32);
    expect(await s.unload('test/two')).toBe(true);
    const lease = await leased;
    expect(lease.info.provider).toBe('cpu');
    expect(s.running()[0]).toMatchObject({ id: 'test/two', state: 'draining', busy: true });
    lease.release();
    expect(s.running()).toEqual([]);
    expect(events.map((event) => event.state)).toEqual(['loading', 'loading', 'draining', 'unloading']);
    expect(events[1]).toMatchObject({ state: 'loading', waiting: 1 });
  });

  it('a variant switch during the load is refused (409) instead of killing the load others await', async () => {
    const { scheduler: s } = scheduler();
    const first = s.acquire(tiny.record, tiny.fp32);
    await expect(s.acquire(tiny.record, tiny.q4)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/loading as fp32/),
    });
    const lease = await first;
    expect(lease.variant.name).toBe('fp32');
    lease.release();
    // Idle now: the switch goes through.
    const switched = await s.acquire(tiny.record, tiny.q4);
    expect(switched.variant.name).toBe('q4');
    switched.release();
  });

  it('keep-alive: stays loaded until its time passes on the clock, then unloads', async () => {
    const { scheduler: s, clock, events } = scheduler();
    (await s.acquire(tiny.record, tiny.fp32)).release(60_000);
    expect(s.running()[0]).toMatchObject({ state: 'ready', expiresAt: clock.now() + 60_000 });
    clock.advance(59_999);
    expect(s.running()).toHaveLength(1);
    clock.advance(1);
    expect(s.running()).toEqual([]);
    expect(events.at(-1)).toMatchObject({ state: 'unloading' });
  });

  it('keep-alive beyond what a timer can wait means forever, not at once', async () => {
    const { scheduler: s, clock } = scheduler();
    const lease = await s.acquire(tiny.record, tiny.fp32);
    lease.release(99_999_999 * 3600 * 1000);
    expect(clock.requested.every((ms) => ms <= MAX_TIMER_MS)).toBe(true);
    expect(s.running()[0]).toMatchObject({ state: 'ready', expiresAt: null });
    clock.advance(MAX_TIMER_MS * 10);
    expect(s.running()).toHaveLength(1);
  });

  it('keep_alive "99999999h" through the Ollama API keeps the model loaded (the real timer would overflow)', async () => {
    const response = await fetch(`${core.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/keep', prompt: '', keep_alive: '99999999h' }),
    });
    expect(response.status).toBe(200);
    expect(core.lodge.engine.running().find((model) => model.id === 'test/keep')).toMatchObject({
      expiresAt: null,
    });
    await core.lodge.engine.unload('test/keep');
  });

  it('over HTTP, a request queued behind one whose runner is killed is answered by a fresh runner', async () => {
    const post = (body: object) =>
      fetch(`${core.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test/crash', messages: [{ role: 'user', content: 'Hi' }], ...body }),
      });
    const crashing = () => core.lodge.engine.running().find((model) => model.id === 'test/crash');
    const first = await post({ max_tokens: 1800, stream: true });
    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const queued = post({ max_tokens: 3 });
    await expect.poll(() => crashing()?.queueLength).toBe(1);
    const pid = crashing()?.pid as number;
    process.kill(pid, 'SIGKILL');
    const answer = await queued;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(
      3,
    );
    expect(crashing()?.pid).not.toBe(pid);
    // The stream that was running gets the crash as an in-stream error, not a 500 page.
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      text += new TextDecoder().decode(chunk.value);
    expect(text).toContain('"code":"runner_crashed"');
    await core.lodge.engine.unload('test/crash');
  });

  it('publishes slot states on /app/events: loading, then ready or busy, then unloading', async () => {
    const controller = new AbortController();
    const events = await fetch(`${core.url}/app/events`, { signal: controller.signal });
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const slotStates = () =>
      [...text.matchAll(/event: slot\ndata: (.*)\n/g)]
        .map((match) => JSON.parse(match[1] as string) as SlotEvent)
        .filter((slot) => slot.id === 'test/events')
        .map((slot) => slot.state);
    const reading = (async () => {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
        text += new TextDecoder().decode(chunk.value);
    })().catch(() => undefined);
    await expect.poll(() => text.includes(': connected')).toBe(true);
    await core.lodge.engine.load('test/events', -1);
    await core.lodge.engine.unload('test/events');
    await expect.poll(slotStates).toEqual(['loading', 'loading', 'ready', 'busy', 'ready', 'unloading']);
    expect(text).toMatch(/"id":"test\/events","variant":"q4","state":"loading","waiting":1/);
    controller.abort();
    await reading;
  });

  it('a busy model is never evicted; an idle one makes room, least recently used first', async () => {
    const { scheduler: s, clock } = scheduler({ maxLoadedModels: 1 });
    const other = core.lodge.engine.resolve('test/two');
    const busy = await s.acquire(other.record, tiny.fp32);
    const clone: ModelRecord = { ...other.record, id: 'test/clone' };
    await expect(s.acquire(clone, tiny.fp32)).rejects.toMatchObject({ code: 'unavailable' });
    busy.release();
    clock.advance(10);
    const lease = await s.acquire(clone, tiny.fp32);
    expect(s.running().map((model) => model.id)).toEqual(['test/clone']);
    lease.release();
  });

  it('requests queued for a runner that dies start on a fresh runner instead of failing', async () => {
    const { scheduler: s } = scheduler();
    const running = await s.acquire(tiny.record, tiny.fp32);
    const first = s.acquire(tiny.record, tiny.fp32);
    const second = s.acquire(tiny.record, tiny.fp32);
    await expect.poll(() => s.running()[0]?.queueLength).toBe(2);
    const pid = running.runner.pid as number;
    process.kill(pid, 'SIGKILL');
    const next = await first;
    expect(next.runner.pid).not.toBe(pid);
    running.release();
    next.release();
    (await second).release();
  });

  it('drain: queued requests end at once with shutting_down, the running one gets its grace, then its signal', async () => {
    const { scheduler: s, clock } = scheduler();
    const running = await s.acquire(tiny.record, tiny.fp32);
    const queued = s.acquire(tiny.record, tiny.fp32);
    const drained = s.drain(5000);
    await expect(queued).rejects.toMatchObject({ code: 'shutting_down' });
    await expect(s.acquire(tiny.record, tiny.fp32)).rejects.toMatchObject({ code: 'shutting_down' });
    expect(running.signal.aborted).toBe(false);
    clock.advance(5000);
    await expect.poll(() => running.signal.aborted).toBe(true);
    running.release();
    await drained;
  });

  it('two requests for another variant while the model idles share one new runner, and none outlives dispose', async () => {
    const { scheduler: s } = scheduler();
    const old = await s.acquire(tiny.record, tiny.fp32);
    const oldPid = old.runner.pid as number;
    old.release();
    const both = [s.acquire(tiny.record, tiny.q4), s.acquire(tiny.record, tiny.q4)];
    // One is served, the other waits in the queue of the same runner.
    const served = await Promise.race(both);
    expect(alive(oldPid)).toBe(false);
    const pid = served.runner.pid as number;
    served.release();
    const leases = await Promise.all(both);
    expect(leases.map((lease) => lease.runner.pid)).toEqual([pid, pid]);
    expect(s.running()).toEqual([expect.objectContaining({ variant: 'q4', pid })]);
    for (const lease of leases) lease.release();
    await s.dispose();
    expect(alive(pid)).toBe(false);
  });

  it('with parallel 3, serves three requests at once on one runner and queues the fourth', async () => {
    const { scheduler: s, events } = scheduler({ parallel: 3 });
    const leases = await Promise.all([1, 2, 3].map(() => s.acquire(tiny.record, tiny.fp32)));
    expect(new Set(leases.map((lease) => lease.runner.pid)).size).toBe(1);
    expect(s.running()[0]).toMatchObject({ state: 'busy', active: 3, parallel: 3, queueLength: 0 });
    const fourth = s.acquire(tiny.record, tiny.fp32);
    await expect.poll(() => s.running()[0]?.queueLength).toBe(1);
    expect(events.at(-1)).toMatchObject({ state: 'busy', active: 3, parallel: 3, waiting: 1 });
    leases[0]?.release();
    const granted = await fourth;
    expect(s.running()[0]).toMatchObject({ active: 3, queueLength: 0 });
    for (const lease of [...leases.slice(1), granted]) lease.release();
    expect(s.running()[0]).toMatchObject({ state: 'ready', busy: false, active: 0 });
    expect(events.at(-1)).toMatchObject({ state: 'ready', active: 0, waiting: 0 });
  });

  it('with parallel 1, a model runs one request at a time as before', async () => {
    const { scheduler: s } = scheduler({ parallel: 1 });
    const first = await s.acquire(tiny.record, tiny.fp32);
    expect(s.running()[0]).toMatchObject({ active: 1, parallel: 1, batchingNote: null });
    const second = s.acquire(tiny.record, tiny.fp32);
    await expect.poll(() => s.running()[0]?.queueLength).toBe(1);
    first.release();
    (await second).release();
  });

  it('a client that leaves while the model loads, or while queued, gives up its place', async () => {
    const { scheduler: s } = scheduler();
    await expect(s.acquire(tiny.record, tiny.fp32, AbortSignal.abort())).rejects.toMatchObject({
      code: 'cancelled',
    });
    expect(s.slots()).toEqual([]);
    const loading = new AbortController();
    const staying = s.acquire(tiny.record, tiny.fp32);
    const leaving = s.acquire(tiny.record, tiny.fp32, loading.signal);
    loading.abort();
    await expect(leaving).rejects.toMatchObject({ code: 'cancelled' });
    const lease = await staying;
    expect(s.running()[0]).toMatchObject({ state: 'busy', queueLength: 0 });
    const queued = new AbortController();
    const gone = s.acquire(tiny.record, tiny.fp32, queued.signal);
    const next = s.acquire(tiny.record, tiny.fp32);
    await expect.poll(() => s.running()[0]?.queueLength).toBe(2);
    queued.abort();
    await expect(gone).rejects.toMatchObject({ code: 'cancelled' });
    expect(s.running()[0]?.queueLength).toBe(1);
    lease.release();
    (await next).release();
    expect(s.running()[0]).toMatchObject({ state: 'ready', busy: false, queueLength: 0 });
    // Nobody holds the model now, so another variant may replace it.
    const switched = await s.acquire(tiny.record, tiny.q4);
    expect(switched.variant.name).toBe('q4');
    switched.release();
  });

  it('a request the runner channel cannot carry fails as invalid_request and leaves nothing pending', async () => {
    const { scheduler: s } = scheduler();
    const lease = await s.acquire(tiny.record, tiny.fp32);
    const controller = new AbortController();
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: { run: () => 1 } } }];
    const prompt = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'Hi' }], tools };
    await expect(
      lease.runner.call('count', { request: { ...countRequest, prompt } }, controller.signal),
    ).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/not plain data/) });
    expect(lease.runner.inFlight).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toEqual([]);
    // The runner was never sent it, and still serves.
    const counted = await lease.runner.call('count', { request: countRequest }, controller.signal);
    expect(counted.promptTokens).toBeGreaterThan(0);
    lease.release();
  });
});

/** Whether a process with this id exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
