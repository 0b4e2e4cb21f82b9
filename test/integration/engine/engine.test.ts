import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type GenerateEvent, type GenerateRequest } from '../../../src/shared/engine';
import type { LodgeError } from '../../../src/main/core/errors';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TENSOR_MODEL, TINY_EMBEDDER, TINY_LM, WIDE_LM } from '../../fixtures/models';

const request = (overrides: Partial<GenerateRequest> = {}): GenerateRequest => ({
  prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Hello there!' }] },
  maxTokens: 8,
  stop: [],
  sampling: GREEDY,
  ...overrides,
});

async function collect(stream: AsyncIterable<GenerateEvent>) {
  const events: GenerateEvent[] = [];
  for await (const event of stream) events.push(event);
  return {
    events,
    text: events.map((event) => (event.type === 'text' ? event.text : '')).join(''),
    done: events.at(-1),
  };
}

describe('the engine with real runner processes', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({
      models: {
        'test/tiny-lm': TINY_LM,
        'test/unused-lm': TINY_LM,
        'test/embedder': TINY_EMBEDDER,
        'test/tensors': TENSOR_MODEL,
        'test/broken': TINY_LM,
        'test/bad-tokenizer': TINY_LM,
      },
    });
    // A tokenizer.json that holds another file's contents: the error must not quote them.
    writeFileSync(
      join(core.dataDir, 'models/test/bad-tokenizer/tokenizer.json'),
      'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n',
    );
    // A corrupt graph: the catalog still lists the model; loading it must fail cleanly.
    writeFileSync(join(core.dataDir, 'models/test/broken/onnx/model.onnx'), 'this is not an ONNX file');
    core.lodge.engine.models();
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('finds the models under models/ with their task, format and variants', async () => {
    const { models } = (await (await fetch(`${core.url}/app/models`)).json()) as {
      models: { id: string; task: string; format: string; variants: { name: string }[] }[];
    };
    const byId = Object.fromEntries(models.map((model) => [model.id, model]));
    expect(byId['test/tiny-lm']).toMatchObject({
      task: 'text-generation',
      format: 'hf-onnx',
      variants: [{ name: 'fp32' }],
    });
    expect(byId['test/embedder']).toMatchObject({ task: 'embeddings', format: 'hf-onnx' });
    expect(byId['test/tensors']).toMatchObject({ task: 'tensors', format: 'onnx' });
    expect(byId['test/broken']).toMatchObject({ task: 'text-generation' });
  });

  it('generates in a runner process and reports where it runs and what it skipped', async () => {
    const { text, done } = await collect(core.lodge.engine.generate('test/tiny-lm', request()));
    expect(text.length).toBeGreaterThan(0);
    expect(done).toMatchObject({ type: 'done', finishReason: 'length', stats: { completionTokens: 8 } });
    const { models } = (await (await fetch(`${core.url}/app/runners`)).json()) as {
      models: Record<string, unknown>[];
    };
    const running = models.find((model) => model.id === 'test/tiny-lm');
    expect(running).toMatchObject({
      provider: 'cpu',
      busy: false,
      queueLength: 0,
      rssBytes: expect.any(Number),
    });
    expect(running?.skippedProviders).toEqual(
      expect.arrayContaining([
        { provider: 'cuda', reason: expect.stringMatching(/CUDA/) },
        { provider: 'webgpu', reason: expect.stringMatching(/WebGPU|adapter/i) },
      ]),
    );
    // Said in words: no paths from onnxruntime's or Dawn's build trees.
    for (const skip of running?.skippedProviders as { reason: string }[])
      expect(skip.reason).not.toMatch(/\/build\/|\.(cc|cpp|h):\d+|onnxruntime::/);
    const { inferences } = (await (await fetch(`${core.url}/app/inferences?limit=1`)).json()) as {
      inferences: Record<string, unknown>[];
    };
    expect(inferences[0]).toMatchObject({
      model: 'test/tiny-lm',
      completionTokens: 8,
      outcome: 'length',
      decodeTokensPerSecond: expect.any(Number),
    });
  });

  it('asks each runner for its memory without leaving a timer behind per call', async () => {
    await collect(core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 1 })));
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => core.lodge.engine.runningWithMemory()),
    );
    expect(answers.flat().find((model) => model.id === 'test/tiny-lm')?.rssBytes).toEqual(expect.any(Number));
    expect(timers() - before).toBeLessThan(5);
  });

  it('refuses, as invalid_request, a request its runner channel cannot carry; the runner serves on', async () => {
    const pid = () => core.lodge.engine.running().find((model) => model.id === 'test/tiny-lm')?.pid;
    await collect(core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 1 })));
    const before = pid();
    let deep: Record<string, unknown> = {};
    for (let depth = 0; depth < 100_000; depth++) deep = { deep };
    for (const [parameters, why] of [
      [{ run: () => 1 }, /not plain data/],
      [{ marker: Symbol('x') }, /not plain data/],
      [deep, /nested too deeply/],
    ] as const) {
      const prompt = {
        kind: 'chat' as const,
        messages: [{ role: 'user' as const, content: 'Hi' }],
        tools: [{ type: 'function' as const, function: { name: 'f', parameters } }],
      };
      await expect(
        collect(core.lodge.engine.generate('test/tiny-lm', request({ prompt }))),
      ).rejects.toMatchObject({
        code: 'invalid_request',
        message: expect.stringMatching(why),
      });
    }
    const { done } = await collect(core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 2 })));
    expect(done).toMatchObject({ type: 'done', stats: { completionTokens: 2 } });
    expect(pid()).toBe(before);
  });

  it('resolves a bare name and a variant tag, and names the available models when one is unknown', async () => {
    expect(
      (await collect(core.lodge.engine.generate('tiny-lm:latest', request({ maxTokens: 1 })))).done?.type,
    ).toBe('done');
    expect(
      (await collect(core.lodge.engine.generate('test/tiny-lm:fp32', request({ maxTokens: 1 })))).done?.type,
    ).toBe('done');
    await expect(collect(core.lodge.engine.generate('nope/nothing', request()))).rejects.toMatchObject({
      code: 'model_not_found',
      message: expect.stringMatching(/Available: .*test\/tiny-lm/),
    });
    await expect(collect(core.lodge.engine.generate('test/embedder', request()))).rejects.toThrow(
      /embedding model, not a text-generation model/,
    );
  });

  it('frees the runner when a generation is cancelled mid-stream', async () => {
    const controller = new AbortController();
    const events: GenerateEvent[] = [];
    for await (const event of core.lodge.engine.generate(
      'test/tiny-lm',
      request({ maxTokens: 500, ignoreEos: true }),
      { signal: controller.signal },
    )) {
      events.push(event);
      if (events.length === 2) controller.abort();
    }
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    // The cancel crosses the IPC channel while the runner keeps generating (tokens already in the pipe
    // still arrive), so it lands some tokens after the abort (dozens on the tiny model, whose steps
    // take a fraction of a millisecond): far before the 500-token budget.
    if (done?.type === 'done') expect(done.stats.completionTokens).toBeLessThan(200);
    const next = await collect(core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 3 })));
    expect(next.done).toMatchObject({ stats: { completionTokens: 3 } });
  });

  it('frees the runner when the consumer just stops reading (client gone)', async () => {
    const stream = core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 500, ignoreEos: true }));
    await stream.next();
    await stream.return(undefined);
    const next = await collect(core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 2 })));
    expect(next.done).toMatchObject({ stats: { completionTokens: 2 } });
  });

  it('notes the last use once the first event is out, so the database write is not in the time to first token', async () => {
    const lastUsed = () =>
      core.lodge.engine.models().find((model) => model.id === 'test/unused-lm')?.lastUsedAt;
    expect(lastUsed()).toBeNull();
    const stream = core.lodge.engine.generate('test/unused-lm', request({ maxTokens: 4, ignoreEos: true }));
    const first = await stream.next();
    expect(first.value).toMatchObject({ type: 'text' });
    expect(lastUsed()).toBeNull();
    await stream.next();
    expect(lastUsed()).toEqual(expect.any(String));
    await collect({ [Symbol.asyncIterator]: () => stream });
  });

  it('fails the request in flight with runner_crashed when the runner is killed, then recovers', async () => {
    const stream = core.lodge.engine.generate(
      'test/tiny-lm',
      request({ maxTokens: 100_000, ignoreEos: true }),
    );
    await stream.next();
    const pid = core.lodge.engine.running().find((model) => model.id === 'test/tiny-lm')?.pid;
    expect(pid).toBeTypeOf('number');
    process.kill(pid as number, 'SIGKILL');
    const failure = await collect(stream).catch((error: LodgeError) => error);
    expect(failure).toMatchObject({
      code: 'runner_crashed',
      message: expect.stringMatching(/test\/tiny-lm was killed by SIGKILL/),
    });
    const after = await collect(core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 2 })));
    expect(after.done).toMatchObject({ stats: { completionTokens: 2 } });
    expect(core.lodge.engine.running().find((model) => model.id === 'test/tiny-lm')?.pid).not.toBe(pid);
    expect((await fetch(`${core.url}/health`)).status).toBe(200);
  });

  it('answers model_load_failed for a corrupt graph and stays up', async () => {
    const failure = await collect(core.lodge.engine.generate('test/broken', request())).catch(
      (error: LodgeError) => error,
    );
    expect(failure).toMatchObject({
      code: 'model_load_failed',
      message: expect.stringMatching(/test\/broken could not be loaded/),
    });
    // It names the file inside the model folder: no data-dir path, no onnxruntime source reference.
    const { message } = failure as LodgeError;
    expect(message).toMatch(/onnx\/model\.onnx/);
    expect(message).not.toContain(core.dataDir);
    expect(message).not.toMatch(/\.(cc|h|cpp):\d+|onnxruntime::|\n/);
    expect(core.lodge.engine.running().some((model) => model.id === 'test/broken')).toBe(false);
    expect((await fetch(`${core.url}/health`)).status).toBe(200);
  });

  it('names an unparsable tokenizer.json without quoting what it holds, over HTTP too', async () => {
    const response = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/bad-tokenizer', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('model_load_failed');
    expect(error.message).toMatch(/test\/bad-tokenizer .*tokenizer\.json is not valid JSON/);
    expect(error.message).not.toMatch(/root|daemon|bin\/bash|position/);
    expect(error.message).not.toContain(core.dataDir);
    expect((await fetch(`${core.url}/health`)).status).toBe(200);
  });

  it('loads a model once for concurrent first requests, and serves them in turn', async () => {
    await core.lodge.engine.unload('test/tiny-lm');
    const results = await Promise.all(
      [1, 2, 3].map(() => collect(core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 4 })))),
    );
    for (const result of results) expect(result.done).toMatchObject({ stats: { completionTokens: 4 } });
    expect(core.lodge.engine.running().filter((model) => model.id === 'test/tiny-lm')).toHaveLength(1);
  });

  it('embeds: unit-length vectors, different for different texts, the same for the same text', async () => {
    const { embeddings, promptTokens } = await core.lodge.engine.embed('test/embedder', {
      inputs: ['The weather is sunny', 'A house on the hill', 'The weather is sunny'],
      truncate: true,
    });
    expect(embeddings).toHaveLength(3);
    expect(promptTokens).toBeGreaterThan(6);
    for (const vector of embeddings) expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    const [a, b, c] = embeddings as [Float32Array, Float32Array, Float32Array];
    expect([...a]).toEqual([...c]);
    expect([...a]).not.toEqual([...b]);
    await expect(
      core.lodge.engine.embed('test/embedder', { inputs: ['word '.repeat(600)], truncate: false }),
    ).rejects.toThrow(/at most 512/);
    const cut = await core.lodge.engine.embed('test/embedder', {
      inputs: ['word '.repeat(600)],
      truncate: true,
    });
    expect(Math.hypot(...(cut.embeddings[0] as Float32Array))).toBeCloseTo(1, 5);
  });

  it('runs a plain tensor model with inputs of several types', async () => {
    const { outputs } = await core.lodge.engine.infer('test/tensors', {
      inputs: [
        { name: 'x', type: 'float32', dims: [1, 4], data: Float32Array.of(1, -2, 3.5, 0) },
        { name: 'ids', type: 'int64', dims: [2], data: BigInt64Array.of(41n, 9_007_199_254_740_993n) },
        { name: 'counts', type: 'int32', dims: [2, 2], data: Int32Array.of(1, 2, 3, 4) },
        { name: 'flags', type: 'bool', dims: [2], data: Uint8Array.of(1, 0) },
        { name: 'bytes', type: 'uint8', dims: [3], data: Uint8Array.of(7, 8, 9) },
        { name: 'factor', type: 'float64', dims: [1], data: Float64Array.of(0.5) },
        { name: 'half', type: 'float16', dims: [1], data: Uint16Array.of(0x3c00) },
        { name: 'text', type: 'string', dims: [2], data: ['héllo', 'lodge'] },
      ],
    });
    const byName = Object.fromEntries(outputs.map((output) => [output.name, output]));
    expect([...(byName.scaled?.data as Float32Array)]).toEqual([2, -4, 7, 0]);
    expect([...(byName.next?.data as BigInt64Array)]).toEqual([42n, 9_007_199_254_740_994n]);
    expect([...(byName.negated?.data as Int32Array)]).toEqual([-1, -2, -3, -4]);
    expect([...(byName.inverted?.data as Uint8Array)].map(Boolean)).toEqual([false, true]);
    expect([...(byName.wide?.data as Float64Array)]).toEqual([0.5, -1, 1.75, 0]);
    expect(byName.echo?.data).toEqual(['héllo', 'lodge']);
    await expect(
      core.lodge.engine.infer('test/tensors', {
        inputs: [{ name: 'x', type: 'int64', dims: [1, 4], data: BigInt64Array.of(1n, 2n, 3n, 4n) }],
      }),
    ).rejects.toThrow(/Input "x" must be float32, not int64/);
  });
});

describe('scheduling policy', () => {
  it('falls back from WebGPU to CPU, recording why (no adapter on this machine)', async () => {
    const core = await startTestCore({
      models: { 'test/tiny-lm': TINY_LM },
      env: { LODGE_PROVIDERS: 'webgpu,cpu' },
    });
    try {
      await core.lodge.engine.load('test/tiny-lm');
      const running = core.lodge.engine.running()[0];
      expect(running?.provider).toBe('cpu');
      expect(running?.skippedProviders).toEqual([
        { provider: 'webgpu', reason: expect.stringMatching(/adapter|WebGPU/i) },
      ]);
    } finally {
      await core.dispose();
    }
  });

  it('unloads after the request with keep-alive 0, and keeps it with a negative one', async () => {
    const core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
    try {
      await collect(
        core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 1 }), { keepAliveMs: 0 }),
      );
      await expect.poll(() => core.lodge.engine.running().length).toBe(0);
      await collect(
        core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 1 }), { keepAliveMs: -1 }),
      );
      expect(core.lodge.engine.running()[0]).toMatchObject({ id: 'test/tiny-lm', expiresAt: null });
      await collect(core.lodge.engine.generate('test/tiny-lm', request({ maxTokens: 1 })));
      expect(core.lodge.engine.running()[0]?.expiresAt).toBeGreaterThan(Date.now() + 200_000);
    } finally {
      await core.dispose();
    }
  });

  it('evicts the least recently used idle model when the maximum is loaded', async () => {
    const core = await startTestCore({
      models: { 'test/a': TINY_LM, 'test/b': TINY_LM },
      env: { LODGE_MAX_LOADED_MODELS: '1' },
    });
    try {
      await core.lodge.engine.load('test/a');
      await core.lodge.engine.load('test/b');
      expect(core.lodge.engine.running().map((model) => model.id)).toEqual(['test/b']);
    } finally {
      await core.dispose();
    }
  });

  it('refuses, before loading, a model larger than the memory budget', async () => {
    const core = await startTestCore({
      models: { 'test/wide': WIDE_LM },
      env: { LODGE_MEMORY_BUDGET_MB: '64' },
    });
    try {
      await expect(core.lodge.engine.load('test/wide')).rejects.toMatchObject({
        code: 'model_load_failed',
        message: expect.stringMatching(/needs about .* GiB of memory, more than the 0\.1 GiB/),
      });
      expect(core.lodge.engine.running()).toEqual([]);
    } finally {
      await core.dispose();
    }
  });
});
