import Anthropic from '@anthropic-ai/sdk';
import { Template } from '@huggingface/jinja';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { scriptedLanguageModel, TINY_LM } from '../../fixtures/models';
import { CHATML_TEMPLATE } from '../../fixtures/tokenizer';

const weatherTool = {
  name: 'get_weather',
  description: 'Weather by city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
};
// The same tool as the chat template receives it.
const templateTool = {
  type: 'function',
  function: {
    name: weatherTool.name,
    description: weatherTool.description,
    parameters: weatherTool.input_schema,
  },
};
const question = 'What is the weather in Tokyo?';

/** The prompt the runner renders for these template messages: a scripted answer starts after it. */
function rendered(messages: readonly Record<string, unknown>[], tools?: readonly unknown[]): string {
  return new Template(CHATML_TEMPLATE).render({
    messages,
    ...(tools ? { tools } : {}),
    add_generation_prompt: true,
    eos_token: '<|im_end|>',
    pad_token: '<|endoftext|>',
  });
}

const callAnswer =
  'Let me check.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n</tool_call>';
// The second turn: system, question, the assistant's call and its result, as the template sees them.
const afterToolPrompt = rendered(
  [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: question },
    { role: 'assistant', content: 'Let me check.' },
    { role: 'tool', content: 'Sunny, 22 °C' },
  ],
  [templateTool],
);
const poem = 'Roses are red. Violets are blue.';

/**
 * The request with greedy sampling, so a scripted model's answer is exact: Lodge honours
 * `temperature`, which this SDK's types no longer carry.
 */
function greedy<P extends Anthropic.MessageCreateParams>(params: P): P {
  return { ...params, temperature: 0 };
}

describe('Anthropic Messages API, with the official @anthropic-ai/sdk', () => {
  let core: TestCore;
  let client: Anthropic;
  beforeAll(async () => {
    core = await startTestCore({
      models: {
        'test/tiny-lm': TINY_LM,
        'test/caller': scriptedLanguageModel(
          rendered([{ role: 'user', content: question }], [templateTool]),
          callAnswer,
        ),
        'test/after-tool': scriptedLanguageModel(afterToolPrompt, 'It is sunny in Tokyo.'),
        'test/poet': scriptedLanguageModel(rendered([{ role: 'user', content: 'Write a poem.' }]), poem),
      },
    });
    client = new Anthropic({ baseURL: core.url, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('creates a message: text, end_turn, usage', async () => {
    const message = await client.messages.create(
      greedy({
        model: 'test/poet',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Write a poem.' }],
      }),
    );
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'test/poet',
      content: [{ type: 'text', text: poem }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    expect(message.id).toMatch(/^msg_/);
    // The SDK reads the request's id from the `request-id` header.
    expect(message._request_id).toMatch(/^req_/);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0)).toBeGreaterThan(0);
  });

  it('stops at max_tokens with stop_reason max_tokens', async () => {
    const message = await client.messages.create(
      greedy({
        model: 'test/tiny-lm',
        max_tokens: 3,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there!' }] }],
      }),
    );
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.output_tokens).toBe(3);
    expect(message.content[0]?.type).toBe('text');
  });

  it('stops at a stop sequence and names it', async () => {
    const message = await client.messages.create(
      greedy({
        model: 'test/poet',
        max_tokens: 100,
        stop_sequences: ['Violets', 'never-written'],
        messages: [{ role: 'user', content: 'Write a poem.' }],
      }),
    );
    expect(message.content).toEqual([{ type: 'text', text: 'Roses are red. ' }]);
    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe('Violets');
  });

  it('streams a message: the SDK accumulates the same text as a reply that is not streamed', async () => {
    const stream = client.messages.stream(
      greedy({
        model: 'test/poet',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Write a poem.' }],
      }),
    );
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));
    let deltas = '';
    stream.on('text', (text) => {
      deltas += text;
    });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: poem }]);
    expect(deltas).toBe(poem);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.id).toMatch(/^msg_/);
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(new Set(types.slice(2, -3))).toEqual(new Set(['content_block_delta']));
    // Usage at the start (the prompt) and at the end (the prompt and the answer) agree.
    const whole = await client.messages.create(
      greedy({
        model: 'test/poet',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Write a poem.' }],
      }),
    );
    const prompt = (usage: Anthropic.Usage) => usage.input_tokens + (usage.cache_read_input_tokens ?? 0);
    expect(prompt(final.usage)).toBe(prompt(whole.usage));
    expect(final.usage.output_tokens).toBe(whole.usage.output_tokens);
  });

  it('streams the stop sequence in message_delta', async () => {
    const final = await client.messages
      .stream(
        greedy({
          model: 'test/poet',
          max_tokens: 100,
          stop_sequences: ['Violets'],
          messages: [{ role: 'user', content: 'Write a poem.' }],
        }),
      )
      .finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'Roses are red. ' }]);
    expect(final).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'Violets' });
  });

  it('returns the tool call the model writes as a tool_use block (tool_choice auto)', async () => {
    const message = await client.messages.create(
      greedy({
        model: 'test/caller',
        max_tokens: 200,
        tools: [weatherTool],
        tool_choice: { type: 'auto' },
        messages: [{ role: 'user', content: question }],
      }),
    );
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_/),
        name: 'get_weather',
        input: { city: 'Tokyo' },
      },
    ]);
  });

  it('streams a tool call as input_json_delta, which the SDK parses back into the input', async () => {
    const stream = client.messages.stream(
      greedy({
        model: 'test/caller',
        max_tokens: 200,
        tools: [weatherTool],
        messages: [{ role: 'user', content: question }],
      }),
    );
    const deltas: string[] = [];
    stream.on('streamEvent', (event) => {
      if (event.type === 'content_block_delta') deltas.push(event.delta.type);
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_/),
        name: 'get_weather',
        input: { city: 'Tokyo' },
      },
    ]);
    expect(deltas).toContain('text_delta');
    expect(deltas.at(-1)).toBe('input_json_delta');
  });

  it('continues after a tool_result: system, tool_use and tool_result reach the template as it expects', async () => {
    const message = await client.messages.create(
      greedy({
        model: 'test/after-tool',
        max_tokens: 100,
        system: [{ type: 'text', text: 'Be brief.' }],
        tools: [weatherTool],
        messages: [
          { role: 'user', content: question },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Let me check.' },
              { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Tokyo' } },
            ],
          },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'toolu_01',
                content: [{ type: 'text', text: 'Sunny, 22 °C' }],
              },
            ],
          },
        ],
      }),
    );
    // The scripted answer comes only when the prompt is exactly the one rendered above.
    expect(message.content).toEqual([{ type: 'text', text: 'It is sunny in Tokyo.' }]);
    expect(message.stop_reason).toBe('end_turn');
  });

  it('counts the tokens of a prompt as a message with it uses them', async () => {
    const params = {
      model: 'test/after-tool',
      system: 'Be brief.',
      messages: [{ role: 'user' as const, content: 'How many tokens is this prompt, exactly?' }],
    };
    const counted = await client.messages.countTokens(params);
    const message = await client.messages.create(greedy({ ...params, max_tokens: 1 }));
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(counted.input_tokens).toBe(
      message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0),
    );
    // The system prompt is counted: without it, the prompt is shorter.
    const bare = await client.messages.countTokens({ model: params.model, messages: params.messages });
    expect(bare.input_tokens).toBeLessThan(counted.input_tokens);
  });

  it('offers the tools to the template with tool_choice auto, and none with tool_choice none', async () => {
    const messages = [{ role: 'user' as const, content: question }];
    const model = 'test/caller';
    const withTools = await client.messages.countTokens({ model, messages, tools: [weatherTool] });
    const withNone = await client.messages.countTokens({
      model,
      messages,
      tools: [weatherTool],
      tool_choice: { type: 'none' },
    });
    const without = await client.messages.countTokens({ model, messages });
    expect(withNone.input_tokens).toBe(without.input_tokens);
    expect(withTools.input_tokens).toBeGreaterThan(without.input_tokens);
    // With the tools withheld, nothing is parsed as a call.
    const message = await client.messages.create(
      greedy({
        model,
        max_tokens: 20,
        tools: [weatherTool],
        tool_choice: { type: 'none' },
        messages,
      }),
    );
    expect(message.content.every((block) => block.type === 'text')).toBe(true);
    expect(message.stop_reason).not.toBe('tool_use');
  });

  it('refuses a request without max_tokens, as Anthropic does', async () => {
    const failure = client.post('/v1/messages', {
      body: { model: 'test/tiny-lm', messages: [{ role: 'user', content: 'Hi' }] },
    });
    await expect(failure).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(failure).rejects.toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      error: { type: 'error', error: { message: expect.stringContaining('max_tokens') } },
    });
  });

  it('answers an unknown model with 404 not_found_error', async () => {
    const failure = client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    await expect(failure).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(failure).rejects.toMatchObject({ status: 404, type: 'not_found_error' });
    // count_tokens too, in the same shape.
    await expect(
      client.messages.countTokens({
        model: 'claude-sonnet-4-5',
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('refuses image blocks for a text-only model with a message that says why', async () => {
    const failure = client.messages.create({
      model: 'test/tiny-lm',
      max_tokens: 10,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    await expect(failure).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(failure).rejects.toMatchObject({
      type: 'invalid_request_error',
      apiMessage: expect.stringMatching(/test\/tiny-lm is a text-generation model and takes text only/),
    });
  });

  it('accepts the beta path Claude Code calls (/v1/messages?beta=true)', async () => {
    const message = await client.beta.messages.create({
      model: 'test/poet',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Write a poem.' }],
      ...{ temperature: 0 },
    });
    expect(message.content).toEqual([{ type: 'text', text: poem }]);
  });

  it('ends a stream that fails mid-answer with an error event the SDK raises as an APIError', async () => {
    const stream = client.messages.stream(
      greedy({
        model: 'test/tiny-lm',
        max_tokens: 1800,
        messages: [{ role: 'user', content: 'Tell me a long story.' }],
      }),
    );
    let killed: Promise<void> | null = null;
    stream.on('text', () => {
      killed ??= (async () => {
        const runners = (await (await fetch(`${core.url}/app/runners`)).json()) as {
          models: { id: string; pid: number | null }[];
        };
        const pid = runners.models.find((model) => model.id === 'test/tiny-lm')?.pid;
        expect(pid).toEqual(expect.any(Number));
        process.kill(pid ?? 0, 'SIGKILL');
      })();
    });
    const failure = stream.finalMessage();
    await expect(failure).rejects.toBeInstanceOf(Anthropic.APIError);
    await expect(failure).rejects.toMatchObject({
      type: 'api_error',
      error: {
        type: 'error',
        error: { type: 'api_error', message: expect.stringContaining('test/tiny-lm') },
      },
    });
    await killed;
  });

  it('refuses a forced tool choice without tools, and one that names a tool not offered', async () => {
    const none = client.messages.create({
      model: 'test/caller',
      max_tokens: 10,
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: question }],
    });
    await expect(none).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(none).rejects.toMatchObject({ apiMessage: expect.stringContaining('needs tools') });
    const unknown = client.messages.create({
      model: 'test/caller',
      max_tokens: 10,
      tools: [weatherTool],
      tool_choice: { type: 'tool', name: 'get_time' },
      messages: [{ role: 'user', content: question }],
    });
    await expect(unknown).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(unknown).rejects.toMatchObject({ apiMessage: expect.stringContaining('get_time') });
  });
});

describe('Anthropic Messages API behind an API key', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({
      models: { 'test/tiny-lm': TINY_LM },
      env: { LODGE_API_KEY: 'correct-horse' },
    });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('refuses a wrong x-api-key with 401 authentication_error', async () => {
    const client = new Anthropic({ baseURL: core.url, apiKey: 'wrong', maxRetries: 0 });
    const failure = client.messages.countTokens({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    await expect(failure).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(failure).rejects.toMatchObject({ status: 401, type: 'authentication_error' });
  });

  it('accepts the key as x-api-key (apiKey) and as a bearer token (authToken)', async () => {
    const params = { model: 'test/tiny-lm', messages: [{ role: 'user' as const, content: 'Hi' }] };
    const byApiKey = new Anthropic({ baseURL: core.url, apiKey: 'correct-horse', maxRetries: 0 });
    const byToken = new Anthropic({
      baseURL: core.url,
      apiKey: null,
      authToken: 'correct-horse',
      maxRetries: 0,
    });
    const [one, two] = await Promise.all([
      byApiKey.messages.countTokens(params),
      byToken.messages.countTokens(params),
    ]);
    expect(one.input_tokens).toBeGreaterThan(0);
    expect(two.input_tokens).toBe(one.input_tokens);
  });
});
