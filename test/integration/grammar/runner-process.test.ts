import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type GenerateEvent } from '../../../src/shared/engine';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { BUILT_RUNNER } from '../../helpers/core';

describe('grammar-constrained generation in the built runner process', () => {
  let runner: RunnerProcess;
  beforeAll(async () => {
    runner = new RunnerProcess('test/tiny', BUILT_RUNNER);
    await runner.ready;
    const dir = fixturePath(TINY_LM);
    await runner.load({
      modelId: 'test/tiny',
      task: 'text-generation',
      dir,
      modelFile: join(dir, 'onnx/model.onnx'),
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
    });
  });
  afterAll(async () => {
    await runner.stop();
  });

  it('loads XGrammar in the bundled runner and writes output that follows the schema', async () => {
    const schema = {
      type: 'object',
      properties: { ok: { type: 'boolean' }, n: { type: 'integer', minimum: 1, maximum: 9 } },
      required: ['ok', 'n'],
      additionalProperties: false,
    };
    const events: GenerateEvent[] = [];
    for await (const event of runner.generate({
      prompt: { kind: 'text', text: 'The answer is' },
      maxTokens: 100,
      stop: [],
      sampling: { ...GREEDY, temperature: 1, seed: 3 },
      grammar: { kind: 'json_schema', schema, strict: true },
    }))
      events.push(event);
    const text = events.map((event) => (event.type === 'text' ? event.text : '')).join('');
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    const value: unknown = JSON.parse(text);
    expect(value).toEqual({ ok: expect.any(Boolean), n: expect.any(Number) });
  });

  it('answers an unsupported schema keyword with invalid_request, and keeps serving', async () => {
    const request = {
      prompt: { kind: 'text', text: 'The answer is' },
      maxTokens: 20,
      stop: [],
      sampling: GREEDY,
    } as const;
    const refused = async () => {
      for await (const event of runner.generate({
        ...request,
        grammar: { kind: 'json_schema', schema: { type: 'number', multipleOf: 2 }, strict: true },
      }))
        void event;
    };
    await expect(refused()).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('"multipleOf"'),
    });
    const events: GenerateEvent[] = [];
    for await (const event of runner.generate({ ...request, grammar: { kind: 'json' } })) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'done' });
  });
});
