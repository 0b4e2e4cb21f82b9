import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_EMBEDDER, TINY_LM } from '../../fixtures/models';

describe('OpenAI compatibility, with the official openai SDK', () => {
  let core: TestCore;
  let client: OpenAI;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM, 'test/embedder': TINY_EMBEDDER } });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('lists and retrieves models (ids with a slash)', async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id).sort()).toEqual(['test/embedder', 'test/tiny-lm']);
    const model = await client.models.retrieve('test/tiny-lm');
    expect(model).toMatchObject({ id: 'test/tiny-lm', object: 'model', owned_by: 'test' });
    await expect(client.models.retrieve('test/nothing')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('answers a chat completion', async () => {
    const completion = await client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hello there!' }] },
      ],
      max_tokens: 5,
      temperature: 0,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices[0]?.message.role).toBe('assistant');
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({
      completion_tokens: 5,
      total_tokens: (completion.usage?.prompt_tokens ?? 0) + 5,
    });
    expect(completion._request_id).toMatch(/^req_/);
  });

  it('streams a chat completion: role first, finish_reason last, usage, [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hello there!' }],
      max_completion_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason);
    expect(finish?.choices[0]?.finish_reason).toBe('length');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 6 } });
    // The engine's own timing rides along (as llama.cpp's server does), for the playground's tokens/s.
    const { timings } = chunks.at(-1) as unknown as { timings: Record<string, number> };
    expect(timings).toMatchObject({ prompt_n: expect.any(Number), predicted_n: 6 });
    expect(timings.predicted_per_second).toBeCloseTo((6 / (timings.predicted_ms ?? 0)) * 1000, 3);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    const whole = await client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hello there!' }],
      max_tokens: 6,
      temperature: 0,
    });
    expect(text).toBe(whole.choices[0]?.message.content);
  });

  it("passes the SDK's own stream checks (ChatCompletionStream)", async () => {
    const runner = client.chat.completions.stream({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 4,
      temperature: 0,
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content?.length).toBeGreaterThan(0);
  });

  it('reports logprobs with alternatives', async () => {
    const completion = await client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 3,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = completion.choices[0]?.logprobs?.content ?? [];
    expect(content).toHaveLength(3);
    expect(content[0]).toMatchObject({
      token: expect.any(String),
      logprob: expect.any(Number),
      bytes: expect.any(Array),
    });
    expect(content[0]?.top_logprobs).toHaveLength(2);
  });

  it('stops at a stop string and reproduces a seeded run', async () => {
    const free = await client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 12,
      temperature: 0,
    });
    const text = free.choices[0]?.message.content ?? '';
    const stop = text.slice(3, 5);
    const stopped = await client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 12,
      temperature: 0,
      stop: [stop],
    });
    expect(stopped.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { content: text.slice(0, text.indexOf(stop)) },
    });
    const seeded = () =>
      client.chat.completions.create({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 12,
        temperature: 1.3,
        seed: 7,
      });
    expect((await seeded()).choices[0]?.message.content).toBe((await seeded()).choices[0]?.message.content);
  });

  it('completes a raw prompt (legacy), 16 tokens by default, streamed too', async () => {
    const completion = await client.completions.create({
      model: 'test/tiny-lm',
      prompt: 'The quick brown fox',
      temperature: 0,
    });
    expect(completion).toMatchObject({ object: 'text_completion', usage: { completion_tokens: 16 } });
    const stream = await client.completions.create({
      model: 'test/tiny-lm',
      prompt: 'The quick brown fox',
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(completion.choices[0]?.text);
  });

  it('embeds, in base64 (the SDK default) and as floats, with dimensions', async () => {
    const base64 = await client.embeddings.create({
      model: 'test/embedder',
      input: ['The weather is sunny', 'A house on the hill'],
    });
    expect(base64.data).toHaveLength(2);
    const vector = base64.data[0]?.embedding as number[];
    expect(vector).toHaveLength(32);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    const floats = await client.embeddings.create({
      model: 'test/embedder',
      input: 'The weather is sunny',
      encoding_format: 'float',
    });
    expect(floats.data[0]?.embedding[0]).toBeCloseTo(vector[0] as number, 6);
    const short = await client.embeddings.create({
      model: 'test/embedder',
      input: 'The weather is sunny',
      encoding_format: 'float',
      dimensions: 8,
    });
    expect(short.data[0]?.embedding).toHaveLength(8);
    expect(Math.hypot(...(short.data[0]?.embedding ?? []))).toBeCloseTo(1, 5);
    expect(base64.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('answers errors with the right classes and shapes', async () => {
    await expect(
      client.chat.completions.create({ model: 'test/nothing', messages: [{ role: 'user', content: 'Hi' }] }),
    ).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
      param: 'model',
    });
    await expect(
      client.chat.completions.create({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        n: 2,
      }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(
      client.chat.completions.create({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'odd', schema: { type: 'integer', multipleOf: 3 } },
        },
      }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'response_format',
      message: expect.stringMatching(/multipleOf/),
    });
    await expect(
      client.chat.completions.create({ model: 'test/embedder', messages: [{ role: 'user', content: 'Hi' }] }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      client.chat.completions.create({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }],
      }),
    ).rejects.toMatchObject({ status: 400, param: 'messages[0].content[0].image_url' });
  });

  it('answers 401 as an AuthenticationError when a key is required', async () => {
    const keyed = await startTestCore({
      models: { 'test/tiny-lm': TINY_LM },
      flags: { apiKey: 'right-key-123456' },
    });
    try {
      const wrong = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
      await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const right = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'right-key-123456', maxRetries: 0 });
      expect((await right.models.list()).data).toHaveLength(1);
    } finally {
      await keyed.dispose();
    }
  });
});
