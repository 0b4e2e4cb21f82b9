import Anthropic from '@anthropic-ai/sdk';
import { Ajv2020 } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM } from '../../fixtures/models';

// The model's weights are random: at temperature 1 only the grammar keeps its output valid, so
// every answer below parsing and validating is the grammar's doing, over each family's own client.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    role: { enum: ['admin', 'user', 'guest'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 8 }, minItems: 1, maxItems: 3 },
  },
  required: ['name', 'age', 'role', 'tags'],
  additionalProperties: false,
} as const;
const validPerson = ajv.compile(PERSON);

const WEATHER = {
  type: 'object' as const,
  properties: { city: { type: 'string', maxLength: 16 }, unit: { enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const validWeather = ajv.compile(WEATHER);
const openAiTools = [
  {
    type: 'function' as const,
    function: { name: 'get_weather', description: 'Weather', parameters: WEATHER },
  },
  {
    type: 'function' as const,
    function: {
      name: 'get_time',
      description: 'Time',
      parameters: {
        type: 'object',
        properties: { zone: { type: 'string', maxLength: 10 } },
        required: ['zone'],
      },
    },
  },
];
const SEEDS = [1, 2, 3];
const messages = [{ role: 'user' as const, content: 'Tell me about someone.' }];

describe('structured output and forced tool calls through the official clients', () => {
  let core: TestCore;
  let openai: OpenAI;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
    openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('OpenAI json_schema: every answer parses and validates, streamed or not', async () => {
    for (const seed of SEEDS) {
      const completion = await openai.chat.completions.create({
        model: 'test/tiny-lm',
        messages,
        temperature: 1,
        seed,
        max_tokens: 200,
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'person', schema: PERSON, strict: true },
        },
      });
      const content = completion.choices[0]?.message.content ?? '';
      expect(validPerson(JSON.parse(content)), content).toBe(true);
      expect(completion.choices[0]?.finish_reason).toBe('stop');
    }
    const stream = await openai.chat.completions.create({
      model: 'test/tiny-lm',
      messages,
      temperature: 1,
      seed: 7,
      max_tokens: 200,
      stream: true,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(validPerson(JSON.parse(text)), text).toBe(true);
  });

  it('OpenAI json_object: one JSON object', async () => {
    for (const seed of SEEDS) {
      const completion = await openai.chat.completions.create({
        model: 'test/tiny-lm',
        messages,
        temperature: 1,
        seed,
        max_tokens: 120,
        response_format: { type: 'json_object' },
      });
      const value: unknown = JSON.parse(completion.choices[0]?.message.content ?? '');
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
    }
  });

  it('OpenAI tool_choice required and named: a call whose arguments validate, streamed in chunks', async () => {
    for (const seed of SEEDS) {
      const completion = await openai.chat.completions.create({
        model: 'test/tiny-lm',
        messages,
        temperature: 1,
        seed,
        max_tokens: 200,
        tools: openAiTools,
        tool_choice: 'required',
      });
      const choice = completion.choices[0];
      expect(choice?.finish_reason).toBe('tool_calls');
      const calls = choice?.message.tool_calls ?? [];
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) {
        if (call.type !== 'function') throw new Error('not a function call');
        expect(['get_weather', 'get_time']).toContain(call.function.name);
        const args: unknown = JSON.parse(call.function.arguments);
        if (call.function.name === 'get_weather')
          expect(validWeather(args), call.function.arguments).toBe(true);
      }
    }
    const stream = await openai.chat.completions.create({
      model: 'test/tiny-lm',
      messages,
      temperature: 1,
      seed: 11,
      max_tokens: 200,
      tools: openAiTools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      stream: true,
    });
    const names: string[] = [];
    let args = '';
    let finish: string | null | undefined = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const delta of choice?.delta.tool_calls ?? []) {
        expect(delta.index).toBe(0);
        if (delta.function?.name) names.push(delta.function.name);
        args += delta.function?.arguments ?? '';
      }
      finish = choice?.finish_reason ?? finish;
    }
    expect(names).toEqual(['get_weather']);
    expect(validWeather(JSON.parse(args)), args).toBe(true);
    expect(finish).toBe('tool_calls');
  });

  it('Ollama format as a schema and as "json"', async () => {
    const ollama = new Ollama({ host: core.url });
    for (const seed of SEEDS) {
      const reply = await ollama.chat({
        model: 'test/tiny-lm',
        messages,
        format: PERSON,
        options: { temperature: 1, seed, num_predict: 200 },
      });
      expect(validPerson(JSON.parse(reply.message.content)), reply.message.content).toBe(true);
    }
    const generated = await ollama.generate({
      model: 'test/tiny-lm',
      prompt: 'Say something.',
      format: 'json',
      options: { temperature: 1, seed: 3, num_predict: 120 },
    });
    expect(typeof JSON.parse(generated.response ?? '')).toBe('object');
  });

  it('Anthropic tool_choice any and tool: a tool_use block whose input validates', async () => {
    const client = new Anthropic({ baseURL: core.url, apiKey: 'x', maxRetries: 0 });
    const tools = [{ name: 'get_weather', description: 'Weather', input_schema: WEATHER }];
    for (const [seed, choice] of [
      [1, { type: 'any' }],
      [2, { type: 'tool', name: 'get_weather' }],
    ] as const) {
      const message = await client.messages.create({
        model: 'test/tiny-lm',
        max_tokens: 200,
        tools,
        tool_choice: choice,
        messages,
        metadata: { user_id: `seed-${seed}` },
      });
      expect(message.stop_reason).toBe('tool_use');
      const uses = message.content.filter((block) => block.type === 'tool_use');
      expect(uses.length).toBeGreaterThan(0);
      for (const use of uses) {
        expect(use.name).toBe('get_weather');
        expect(validWeather(use.input), JSON.stringify(use.input)).toBe(true);
      }
    }
  });
});
