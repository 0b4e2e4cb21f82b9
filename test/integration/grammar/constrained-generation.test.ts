import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GREEDY,
  type GenerateEvent,
  type GenerateRequest,
  type SamplingOptions,
} from '../../../src/shared/engine';
import type { GrammarSpec } from '../../../src/shared/grammar';
import { generate } from '../../../src/main/runner/llm/generate';
import { LanguageModel } from '../../../src/main/runner/llm/language-model';
import { parseToolCalls } from '../../../src/main/core/api/tool-calls';
import { fixturePath, TINY_LM } from '../../fixtures/models';

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

/** Temperature 1 over the whole vocabulary: nothing but the mask keeps a random model in line. */
function sampling(seed: number): SamplingOptions {
  return { ...GREEDY, temperature: 1, seed };
}

async function run(
  model: LanguageModel,
  grammar: GrammarSpec,
  seed: number,
  extra: Partial<GenerateRequest> = {},
) {
  const events: GenerateEvent[] = [];
  for await (const event of generate(
    model,
    {
      prompt: { kind: 'text', text: 'The answer is' },
      maxTokens: 300,
      stop: [],
      sampling: sampling(seed),
      grammar,
      ...extra,
    },
    'test/tiny',
    new AbortController().signal,
  ))
    events.push(event);
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error('no done event');
  return { text: events.map((event) => (event.type === 'text' ? event.text : '')).join(''), done };
}

const SEEDS = [1, 2, 3, 4, 5, 6];

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    role: { enum: ['admin', 'user', 'guest'] },
    active: { type: 'boolean' },
    code: { type: 'string', pattern: '^[A-Z]{2}-[0-9]{3}$' },
    tags: { type: 'array', items: { type: 'string', maxLength: 6 }, minItems: 1, maxItems: 3 },
    address: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 10 }, zip: { type: 'integer' } },
      required: ['city', 'zip'],
      additionalProperties: false,
    },
    note: { anyOf: [{ type: 'null' }, { type: 'number', minimum: -5, maximum: 5 }] },
  },
  required: ['name', 'age', 'role', 'active', 'code', 'tags', 'address', 'note'],
  additionalProperties: false,
} as const;

describe('grammar-constrained generation on a random-weights model (real onnxruntime, real XGrammar)', () => {
  let model: LanguageModel;
  beforeAll(async () => {
    const dir = fixturePath(TINY_LM);
    model = (
      await LanguageModel.open(dir, join(dir, 'onnx/model.onnx'), {
        providers: ['cpu'],
        threads: 1,
        cacheDir: null,
      })
    ).model;
  });
  afterAll(async () => {
    await model.release();
  });

  it('writes JSON that validates against a schema (types, enum, bounds, pattern, nested object, array bounds) for every seed', async () => {
    const validate = ajv.compile(PERSON);
    for (const seed of SEEDS) {
      const { text, done } = await run(model, { kind: 'json_schema', schema: PERSON, strict: true }, seed);
      expect(done.finishReason, text).toBe('stop');
      const value: unknown = JSON.parse(text);
      expect(validate(value), `${text}\n${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('is not valid JSON without the grammar (the same model and seeds write free text)', async () => {
    const events: GenerateEvent[] = [];
    for await (const event of generate(
      model,
      { prompt: { kind: 'text', text: 'The answer is' }, maxTokens: 40, stop: [], sampling: sampling(1) },
      'test/tiny',
      new AbortController().signal,
    ))
      events.push(event);
    const text = events.map((event) => (event.type === 'text' ? event.text : '')).join('');
    expect(() => JSON.parse(text)).toThrow();
  });

  it('fills in what strict mode would read wrongly: a required key with no schema, an array with no items', async () => {
    const schemas = [
      { type: 'object', required: ['x'] },
      { type: 'array', minItems: 2, maxItems: 3 },
    ];
    for (const schema of schemas) {
      const validate = ajv.compile(schema);
      for (const seed of SEEDS.slice(0, 3)) {
        const { text, done } = await run(model, { kind: 'json_schema', schema, strict: true }, seed);
        expect(done.finishReason, text).toBe('stop');
        expect(validate(JSON.parse(text)), text).toBe(true);
      }
    }
  });

  it('ends a complete output with finish reason stop even when end-of-sequence is ignored', async () => {
    const schema = {
      type: 'object',
      properties: { n: { type: 'integer', minimum: 1, maximum: 9 } },
      required: ['n'],
    };
    const { text, done } = await run(model, { kind: 'json_schema', schema, strict: true }, 2, {
      ignoreEos: true,
    });
    expect(done.finishReason).toBe('stop');
    expect(JSON.parse(text)).toEqual({ n: expect.any(Number) });
  });

  it('closes unbounded values within a small token budget instead of cutting them off', async () => {
    // No maxLength, no maxItems: this model would write these strings until the budget ran out.
    const schema = {
      type: 'object',
      properties: {
        a: { type: 'string' },
        b: { type: 'array', items: { type: 'string' } },
        c: { type: 'integer' },
      },
      required: ['a', 'b', 'c'],
      additionalProperties: false,
    };
    const validate = ajv.compile(schema);
    for (const seed of SEEDS) {
      const { text, done } = await run(model, { kind: 'json_schema', schema, strict: true }, seed, {
        maxTokens: 60,
      });
      expect(done.finishReason, text).toBe('stop');
      expect(done.stats.completionTokens).toBeLessThanOrEqual(60);
      expect(validate(JSON.parse(text)), text).toBe(true);
    }
  });

  it('writes one JSON object in json mode', async () => {
    for (const seed of SEEDS) {
      const { text, done } = await run(model, { kind: 'json' }, seed);
      expect(done.finishReason, text).toBe('stop');
      const value: unknown = JSON.parse(text);
      expect(typeof value === 'object' && value !== null && !Array.isArray(value), text).toBe(true);
    }
  });

  it('forces a call of the named tool whose arguments validate against its parameters', async () => {
    const parameters = {
      type: 'object',
      properties: {
        city: { type: 'string', maxLength: 10 },
        unit: { enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', minimum: 1, maximum: 7 },
      },
      required: ['city', 'unit', 'days'],
      additionalProperties: false,
    };
    const tools = [
      { type: 'function', function: { name: 'get_weather', parameters } },
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
    ] as const;
    const validate = ajv.compile(parameters);
    for (const seed of SEEDS.slice(0, 4)) {
      const { text, done } = await run(
        model,
        { kind: 'tool_call', tools, mode: { name: 'get_weather' }, parallel: false },
        seed,
      );
      expect(done.finishReason, text).toBe('stop');
      const { calls, content } = parseToolCalls(text, new Set(['get_weather', 'get_time']));
      expect(content, text).toBe('');
      expect(calls.length, text).toBe(1);
      expect(calls[0]?.name).toBe('get_weather');
      expect(validate(calls[0]?.arguments), `${text}\n${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('with tool_choice required, writes only calls of offered tools, each with valid arguments', async () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'add',
          parameters: {
            type: 'object',
            properties: { a: { type: 'integer' }, b: { type: 'integer' } },
            required: ['a', 'b'],
          },
        },
      },
      {
        type: 'function',
        function: {
          name: 'shout',
          parameters: {
            type: 'object',
            properties: { text: { type: 'string', maxLength: 8 } },
            required: ['text'],
          },
        },
      },
    ] as const;
    const validators = new Map<string, ValidateFunction>(
      tools.map((tool) => [tool.function.name, ajv.compile(tool.function.parameters)]),
    );
    for (const seed of SEEDS.slice(0, 4)) {
      const { text, done } = await run(model, { kind: 'tool_call', tools, mode: 'required' }, seed);
      expect(done.finishReason, text).toBe('stop');
      const { calls, content } = parseToolCalls(text, new Set(validators.keys()));
      expect(content, text).toBe('');
      expect(calls.length, text).toBeGreaterThan(0);
      for (const call of calls) expect(validators.get(call.name)?.(call.arguments), text).toBe(true);
    }
  });

  it('refuses a schema keyword the grammar cannot enforce, naming it, before generating', async () => {
    const schema = { type: 'array', items: { type: 'integer' }, uniqueItems: true };
    await expect(run(model, { kind: 'json_schema', schema, strict: true }, 1)).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('"uniqueItems"'),
    });
    const pattern = { type: 'string', pattern: '(?=a)b' };
    await expect(run(model, { kind: 'json_schema', schema: pattern, strict: true }, 1)).rejects.toMatchObject(
      {
        code: 'invalid_request',
        message: expect.stringContaining('lookaround'),
      },
    );
  });
});
