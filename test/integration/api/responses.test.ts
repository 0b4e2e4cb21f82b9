import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { Ajv2020 } from 'ajv/dist/2020';
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { scriptedLanguageModel, TINY_LM } from '../../fixtures/models';
import { byteLevelTokenizer, CHATML_TEMPLATE } from '../../fixtures/tokenizer';

interface TemplateMessage {
  role: string;
  content: string;
}

/** The prompt the runner renders for these messages (and tools), as the chat template does. */
function render(messages: TemplateMessage[], tools?: unknown[]): string {
  return new Template(CHATML_TEMPLATE).render({
    messages,
    ...(tools ? { tools } : {}),
    add_generation_prompt: true,
    eos_token: '<|im_end|>',
    pad_token: '<|endoftext|>',
  });
}

const tokenizer = new Tokenizer(byteLevelTokenizer(TINY_LM.merges).json, {});
const tokenCount = (text: string) => tokenizer.encode(text, { add_special_tokens: false }).ids.length;

// A greeting with instructions: the Responses request's `instructions` become the system message.
const greeting = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hello there!' },
];
const greetingAnswer = 'Hi! How can I help?';

// A function tool, as the template sees it (the Responses tool below, in chat form).
const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather by city',
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
  strict: false,
};
const templateTool = {
  type: 'function',
  function: {
    name: weatherTool.name,
    description: weatherTool.description,
    parameters: weatherTool.parameters,
  },
};
const question = 'What is the weather in Tokyo?';
const callAnswer =
  'Let me check.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n</tool_call>';
// The turn after the call: the model's text, then the tool's output as the template shows it.
const toolOutput = 'Sunny, 22 degrees';
const afterCall = [
  { role: 'user', content: question },
  { role: 'assistant', content: 'Let me check.' },
  { role: 'tool', content: toolOutput },
];
const readAnswer = 'It is sunny in Tokyo.';
// Two calls in one answer, for parallel_tool_calls.
const twinQuestion = 'Weather in Tokyo and Oslo?';
const twinAnswer =
  '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n</tool_call>\n' +
  '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>';

describe('OpenAI Responses API, with the official openai SDK', () => {
  let core: TestCore;
  let client: OpenAI;
  // The data dir outlives one core: the last test restarts the core on it.
  const dataDir = tempDir();
  beforeAll(async () => {
    core = await startTestCore({
      dataDir: dataDir.path,
      models: {
        'test/tiny-lm': TINY_LM,
        'test/greeter': scriptedLanguageModel(render(greeting), greetingAnswer),
        'test/caller': scriptedLanguageModel(
          render([{ role: 'user', content: question }], [templateTool]),
          callAnswer,
        ),
        'test/reader': scriptedLanguageModel(render(afterCall, [templateTool]), readAnswer),
        // Two calls run past the default 512 positions of a scripted model.
        'test/twins': {
          ...scriptedLanguageModel(
            render([{ role: 'user', content: twinQuestion }], [templateTool]),
            twinAnswer,
          ),
          maxPositions: 1024,
        },
      },
    });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
    dataDir.remove();
  });

  it('answers a string input with the Response object the SDK types describe', async () => {
    const response = await client.responses.create({
      model: 'test/tiny-lm',
      input: 'Hello there!',
      max_output_tokens: 5,
      temperature: 0,
    });
    expect(response).toMatchObject({
      id: expect.stringMatching(/^resp_/),
      object: 'response',
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      error: null,
      model: 'test/tiny-lm',
      instructions: null,
      previous_response_id: null,
      tools: [],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      temperature: 0,
      max_output_tokens: 5,
      metadata: {},
      store: true,
      text: { format: { type: 'text' } },
    });
    expect(response.created_at).toBeGreaterThan(1_700_000_000);
    expect(response.output).toHaveLength(1);
    const message = response.output[0];
    if (message?.type !== 'message') throw new Error(`expected a message, got ${message?.type}`);
    expect(message).toMatchObject({
      id: expect.stringMatching(/^msg_/),
      role: 'assistant',
      status: 'incomplete',
    });
    expect(message.content).toEqual([
      { type: 'output_text', text: expect.any(String), annotations: [], logprobs: [] },
    ]);
    const text = message.content[0]?.type === 'output_text' ? message.content[0].text : '';
    expect(text.length).toBeGreaterThan(0);
    expect(response.output_text).toBe(text);
    // The prompt is the user message through the chat template, token for token.
    expect(response.usage).toEqual({
      input_tokens: tokenCount(render([{ role: 'user', content: 'Hello there!' }])),
      input_tokens_details: { cached_tokens: expect.any(Number) },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: (response.usage?.input_tokens ?? 0) + 5,
    });
  });

  it('takes item input and instructions: the instructions are the system message', async () => {
    const response = await client.responses.create({
      model: 'test/greeter',
      instructions: 'Be brief.',
      input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello there!' }] }],
      temperature: 0,
    });
    expect(response.status).toBe('completed');
    expect(response.incomplete_details).toBeNull();
    expect(response.instructions).toBe('Be brief.');
    expect(response.output_text).toBe(greetingAnswer);
    expect(response.usage?.input_tokens).toBe(tokenCount(render(greeting)));
  });

  it('reads developer messages as the system message, one system message in all', async () => {
    const developer = await client.responses.create({
      model: 'test/greeter',
      input: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: 'Hello there!' },
      ],
      temperature: 0,
    });
    expect(developer.output_text).toBe(greetingAnswer);
    // Instructions and the developer messages before the first turn join into one system message.
    const joined = await client.responses.create({
      model: 'test/tiny-lm',
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Be kind.' },
        { role: 'user', content: 'Hello there!' },
      ],
      max_output_tokens: 1,
    });
    expect(joined.usage?.input_tokens).toBe(
      tokenCount(
        render([
          { role: 'system', content: 'Be brief.\n\nBe kind.' },
          { role: 'user', content: 'Hello there!' },
        ]),
      ),
    );
  });

  it('streams the full event sequence; the deltas join to the final text', async () => {
    const stream = client.responses.stream({
      model: 'test/greeter',
      instructions: 'Be brief.',
      input: 'Hello there!',
      temperature: 0,
    });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();

    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const types = events.map((event) => event.type);
    const deltas = events.filter((event) => event.type === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...deltas.map(() => 'response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(deltas.map((event) => event.delta).join('')).toBe(greetingAnswer);
    const created = events[0];
    expect(created?.type === 'response.created' ? created.response.status : null).toBe('in_progress');
    const done = events.find((event) => event.type === 'response.output_text.done');
    expect(done?.type === 'response.output_text.done' ? done.text : null).toBe(greetingAnswer);
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe(greetingAnswer);
    expect(final.usage?.input_tokens).toBe(tokenCount(render(greeting)));
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    // A streamed response is stored like any other.
    const stored = await client.responses.retrieve(final.id);
    expect(stored.output_text).toBe(greetingAnswer);
  });

  it('takes a request shaped as Codex sends it: developer items, store false, reasoning null, include', async () => {
    const stream = await client.responses.create({
      model: 'test/greeter',
      instructions: 'Be',
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'brief.' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello there!' }] },
      ],
      tools: [{ ...weatherTool, strict: false }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      reasoning: null,
      store: false,
      stream: true,
      include: [],
      prompt_cache_key: 'a-session-id',
    });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error(`ended with ${completed?.type}`);
    // Instructions and the developer message are one system message: "Be\n\nbrief.".
    expect(completed.response.usage?.input_tokens).toBe(
      tokenCount(
        render(
          [
            { role: 'system', content: 'Be\n\nbrief.' },
            { role: 'user', content: 'Hello there!' },
          ],
          [templateTool],
        ),
      ),
    );
    const done = events.filter((event) => event.type === 'response.output_item.done');
    expect(done.map((event) => event.item.type)).toEqual(completed.response.output.map((item) => item.type));
    await expect(client.responses.retrieve(completed.response.id)).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
  });

  it('returns a function call (tool_choice auto) with its text, whole and streamed', async () => {
    const response = await client.responses.create({
      model: 'test/caller',
      input: question,
      tools: [weatherTool],
      temperature: 0,
    });
    expect(response.status).toBe('completed');
    expect(response.tools).toEqual([weatherTool]);
    expect(response.output).toEqual([
      {
        type: 'message',
        id: expect.stringMatching(/^msg_/),
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Let me check.', annotations: [], logprobs: [] }],
      },
      {
        type: 'function_call',
        id: expect.stringMatching(/^fc_/),
        call_id: expect.stringMatching(/^call_/),
        name: 'get_weather',
        arguments: '{"city":"Tokyo"}',
        status: 'completed',
      },
    ]);

    const stream = await client.responses.create({
      model: 'test/caller',
      input: question,
      tools: [weatherTool],
      temperature: 0,
      stream: true,
    });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((event) => event.type);
    // The call's markup never shows as text; the call has its own item and argument events.
    const text = events.flatMap((event) =>
      event.type === 'response.output_text.delta' ? [event.delta] : [],
    );
    expect(text.join('')).toBe('Let me check.');
    expect(types.slice(types.indexOf('response.output_item.done') + 1)).toEqual([
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const argumentsDone = events.find((event) => event.type === 'response.function_call_arguments.done');
    expect(argumentsDone).toMatchObject({
      name: 'get_weather',
      arguments: '{"city":"Tokyo"}',
      output_index: 1,
    });
    const completed = events.at(-1);
    const output = completed?.type === 'response.completed' ? completed.response.output : [];
    expect(output.map((item) => item.type)).toEqual(['message', 'function_call']);
  });

  it('parallel_tool_calls: false keeps the first of two calls; tool_choice none offers no tools', async () => {
    const both = await client.responses.create({
      model: 'test/twins',
      input: twinQuestion,
      tools: [weatherTool],
      temperature: 0,
    });
    const cities = (response: OpenAI.Responses.Response) =>
      response.output.map((item) =>
        item.type === 'function_call' ? (JSON.parse(item.arguments) as { city: string }).city : item.type,
      );
    expect(cities(both)).toEqual(['Tokyo', 'Oslo']);
    const first = await client.responses.create({
      model: 'test/twins',
      input: twinQuestion,
      tools: [weatherTool],
      parallel_tool_calls: false,
      temperature: 0,
    });
    expect(first.parallel_tool_calls).toBe(false);
    expect(cities(first)).toEqual(['Tokyo']);

    const none = await client.responses.create({
      model: 'test/caller',
      input: question,
      tools: [weatherTool],
      tool_choice: 'none',
      max_output_tokens: 3,
      temperature: 0,
    });
    expect(none.tool_choice).toBe('none');
    expect(none.output.map((item) => item.type)).toEqual(['message']);
    expect(none.usage?.input_tokens).toBe(tokenCount(render([{ role: 'user', content: question }])));
  });

  it('text.format json_schema: a random-weights model writes JSON that validates', async () => {
    const schema = {
      type: 'object',
      properties: {
        city: { type: 'string', maxLength: 12 },
        degrees: { type: 'integer', minimum: -40, maximum: 50 },
        sky: { enum: ['sunny', 'cloudy', 'rain'] },
      },
      required: ['city', 'degrees', 'sky'],
      additionalProperties: false,
    };
    const format = { type: 'json_schema' as const, name: 'weather', schema, strict: true };
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const response = await client.responses.create({
      model: 'test/tiny-lm',
      input: 'The weather, as JSON.',
      text: { format },
      temperature: 1,
    });
    expect(response.status).toBe('completed');
    expect(response.text?.format).toEqual(format);
    const parsed: unknown = JSON.parse(response.output_text);
    expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);

    // Streamed, json_object: the deltas join to one JSON object.
    const stream = client.responses.stream({
      model: 'test/tiny-lm',
      input: 'Any JSON object.',
      text: { format: { type: 'json_object' } },
      max_output_tokens: 60,
      temperature: 1,
    });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(text);
    const object: unknown = JSON.parse(text);
    expect(typeof object === 'object' && object !== null && !Array.isArray(object)).toBe(true);
  });

  it('tool_choice required and a named function force calls whose arguments validate', async () => {
    const timeTool = {
      type: 'function' as const,
      name: 'get_time',
      description: 'Time by time zone',
      parameters: {
        type: 'object',
        properties: { zone: { enum: ['UTC', 'CET', 'JST'] }, hour24: { type: 'boolean' } },
        required: ['zone', 'hour24'],
        additionalProperties: false,
      },
      strict: true,
    };
    const validators = {
      get_weather: new Ajv2020({ strict: false }).compile(weatherTool.parameters),
      get_time: new Ajv2020({ strict: false }).compile(timeTool.parameters),
    };
    const calls = (response: OpenAI.Responses.Response) =>
      response.output.flatMap((item) => (item.type === 'function_call' ? [item] : []));
    const expectValid = (response: OpenAI.Responses.Response) => {
      for (const call of calls(response)) {
        const validate = call.name === 'get_time' ? validators.get_time : validators.get_weather;
        expect(validate(JSON.parse(call.arguments)), call.arguments).toBe(true);
      }
    };

    const required = await client.responses.create({
      model: 'test/tiny-lm',
      input: 'What time is it in Tokyo?',
      tools: [weatherTool, timeTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
      // A forced call wins over a text format: the answer is the call.
      text: { format: { type: 'json_object' } },
      temperature: 1,
    });
    expect(required.tool_choice).toBe('required');
    expect(required.output.map((item) => item.type)).toEqual(['function_call']);
    expectValid(required);

    const named = await client.responses.create({
      model: 'test/tiny-lm',
      input: 'What time is it in Tokyo?',
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'function', name: 'get_time' },
      temperature: 1,
    });
    expect(named.tool_choice).toEqual({ type: 'function', name: 'get_time' });
    expect(calls(named).length).toBeGreaterThan(0);
    expect(calls(named).map((call) => call.name)).toEqual(calls(named).map(() => 'get_time'));
    expectValid(named);

    // Streamed: the call comes as its item and argument events, which the SDK reassembles.
    const stream = client.responses.stream({
      model: 'test/tiny-lm',
      input: 'What time is it in Tokyo?',
      tools: [timeTool],
      tool_choice: { type: 'function', name: 'get_time' },
      parallel_tool_calls: false,
      temperature: 1,
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    expect(types).toContain('response.function_call_arguments.delta');
    expect(types).toContain('response.function_call_arguments.done');
    expect(types.at(-1)).toBe('response.completed');
    expect(calls(final).map((call) => call.name)).toEqual(['get_time']);
    expectValid(final);
  });

  it('reads a function_call_output back, continuing by previous_response_id', async () => {
    const first = await client.responses.create({
      model: 'test/caller',
      input: question,
      tools: [weatherTool],
      temperature: 0,
    });
    const call = first.output.find((item) => item.type === 'function_call');
    if (call?.type !== 'function_call') throw new Error('expected a function call');
    const second = await client.responses.create({
      model: 'test/reader',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: toolOutput }],
      tools: [weatherTool],
      temperature: 0,
    });
    // The reader is scripted to answer exactly this conversation: question, the call, its output.
    expect(second.previous_response_id).toBe(first.id);
    expect(second.usage?.input_tokens).toBe(tokenCount(render(afterCall, [templateTool])));
    expect(second.output_text).toBe(readAnswer);

    // The same turn with the whole history sent as items, the call's own output items among them.
    const stateless = await client.responses.create({
      model: 'test/reader',
      input: [
        { role: 'user', content: question },
        ...first.output.flatMap((item) =>
          item.type === 'message' || item.type === 'function_call' ? [item] : [],
        ),
        { type: 'function_call_output', call_id: call.call_id, output: toolOutput },
      ],
      tools: [weatherTool],
      temperature: 0,
      store: false,
    });
    expect(stateless.output_text).toBe(readAnswer);
  });

  it('previous_response_id puts the earlier turns in the prompt, and reuses their cache', async () => {
    const first = await client.responses.create({
      model: 'test/tiny-lm',
      input: 'Hello there!',
      max_output_tokens: 4,
      temperature: 0,
    });
    const second = await client.responses.create({
      model: 'test/tiny-lm',
      previous_response_id: first.id,
      input: 'And again?',
      max_output_tokens: 4,
      temperature: 0,
    });
    const conversation = [
      { role: 'user', content: 'Hello there!' },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: 'And again?' },
    ];
    expect(second.usage?.input_tokens).toBe(tokenCount(render(conversation)));
    expect(second.usage?.input_tokens).toBeGreaterThan(
      (first.usage?.input_tokens ?? 0) + (first.usage?.output_tokens ?? 0),
    );
    // The runner kept the first turn's KV cache: the shared prefix is not computed again.
    expect(second.usage?.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(
      (first.usage?.input_tokens ?? 0) - 1,
    );
  });

  it('retrieves a stored response, lists its input items, deletes it', async () => {
    const created = await client.responses.create({
      model: 'test/tiny-lm',
      input: [
        { role: 'user', content: 'First question' },
        { role: 'assistant', content: 'First answer' },
        { role: 'user', content: [{ type: 'input_text', text: 'Second question' }] },
      ],
      max_output_tokens: 3,
      metadata: { topic: 'test' },
    });
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved).toEqual(created);

    const items = await client.responses.inputItems.list(created.id, { order: 'asc' });
    expect(items.data).toEqual([
      {
        type: 'message',
        id: expect.stringMatching(/^msg_/),
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: 'First question' }],
      },
      {
        type: 'message',
        id: expect.stringMatching(/^msg_/),
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'First answer', annotations: [] }],
      },
      {
        type: 'message',
        id: expect.stringMatching(/^msg_/),
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: 'Second question' }],
      },
    ]);
    // Newest first by default, paged by cursor: the SDK follows `after` through every page.
    const pages = [];
    for await (const item of client.responses.inputItems.list(created.id, { limit: 2 })) pages.push(item.id);
    expect(pages).toEqual(items.data.map((item) => item.id).reverse());

    await client.responses.delete(created.id);
    await expect(client.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.delete(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.inputItems.list(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('a conversation whose earlier response was deleted cannot be continued, and says which', async () => {
    const first = await client.responses.create({
      model: 'test/tiny-lm',
      input: 'One',
      max_output_tokens: 1,
    });
    const second = await client.responses.create({
      model: 'test/tiny-lm',
      previous_response_id: first.id,
      input: 'Two',
      max_output_tokens: 1,
    });
    await client.responses.delete(first.id);
    expect((await client.responses.retrieve(second.id)).id).toBe(second.id);
    const continued = client.responses.create({
      model: 'test/tiny-lm',
      previous_response_id: second.id,
      input: 'Three',
    });
    await expect(continued).rejects.toMatchObject({
      status: 404,
      error: { param: 'previous_response_id', message: expect.stringContaining(first.id) },
    });
  });

  it('store: false keeps nothing: neither retrieve nor previous_response_id finds it', async () => {
    const response = await client.responses.create({
      model: 'test/tiny-lm',
      input: 'Hello there!',
      max_output_tokens: 2,
      store: false,
    });
    expect(response).toMatchObject({ store: false });
    await expect(client.responses.retrieve(response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const continued = client.responses.create({
      model: 'test/tiny-lm',
      previous_response_id: response.id,
      input: 'And again?',
    });
    await expect(continued).rejects.toMatchObject({
      status: 404,
      error: { type: 'invalid_request_error', param: 'previous_response_id', code: 'not_found' },
    });
  });

  it("refuses what it cannot do with a 400 in OpenAI's shape, naming the field", async () => {
    const refused = (body: Record<string, unknown>) =>
      fetch(`${core.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test/tiny-lm', input: 'Hi', ...body }),
      }).then(async (reply) => ({ status: reply.status, body: (await reply.json()) as unknown }));
    const expectRefusal = async (body: Record<string, unknown>, param: string, message: RegExp) => {
      const reply = await refused(body);
      expect(reply).toEqual({
        status: 400,
        body: {
          error: {
            type: 'invalid_request_error',
            code: 'invalid_request',
            param,
            message: expect.any(String),
          },
        },
      });
      const error = (reply.body as { error: { message: string } }).error;
      expect(error.message).toMatch(message);
    };
    await expectRefusal({ tools: [{ type: 'web_search' }] }, 'tools[0].type', /"web_search"/);
    await expectRefusal(
      { tools: [weatherTool], tool_choice: { type: 'function', name: 'get_time' } },
      'tool_choice.name',
      /"get_time"/,
    );
    await expectRefusal(
      {
        text: {
          format: { type: 'json_schema', name: 'x', schema: { type: 'array', uniqueItems: true } },
        },
      },
      'text.format',
      /uniqueItems/,
    );
    await expectRefusal({ text: { format: { type: 'yaml' } } }, 'text.format', /"yaml"/);
    await expectRefusal({ input: [{ type: 'reasoning', summary: [] }] }, 'input[0].type', /"reasoning"/);
    await expectRefusal({ input: [{ content: 'Hi' }] }, 'input[0].type', /needs a type/);
    await expectRefusal(
      { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] },
      'input[0].content[0].image_url',
      /not a data URL/,
    );
    await expectRefusal(
      { input: [{ type: 'function_call_output', output: 'x' }] },
      'input[0].call_id',
      /call_id/,
    );
    const unknownModel = await refused({ model: 'test/nothing' });
    expect(unknownModel.status).toBe(404);
  });

  it('a failure mid-stream ends the stream with response.failed, carrying the error', async () => {
    const reply = await fetch(`${core.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test/tiny-lm',
        input: 'Tell me a long story.',
        max_output_tokens: 1800,
        temperature: 1,
        stream: true,
      }),
    });
    expect(reply.status).toBe(200);
    const decoder = new TextDecoder();
    let text = '';
    let killed = false;
    for await (const chunk of reply.body ?? []) {
      text += decoder.decode(chunk, { stream: true });
      if (!killed && text.split('response.output_text.delta').length > 3) {
        killed = true;
        const runners = (await (await fetch(`${core.url}/app/runners`)).json()) as {
          models: { id: string; pid: number | null }[];
        };
        const pid = runners.models.find((model) => model.id === 'test/tiny-lm')?.pid;
        expect(pid).toEqual(expect.any(Number));
        process.kill(pid ?? 0, 'SIGKILL');
      }
    }
    expect(killed).toBe(true);
    const events = text
      .split('\n\n')
      .filter((block) => block.startsWith('event: '))
      .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)) as ResponseStreamEvent);
    const last = events.at(-1);
    expect(events.map((event) => event.type)).not.toContain('response.completed');
    if (last?.type !== 'response.failed') throw new Error(`expected response.failed, got ${last?.type}`);
    expect(last.sequence_number).toBe(events.length - 1);
    expect(last.response).toMatchObject({
      status: 'failed',
      error: { code: 'server_error', message: expect.stringMatching(/runner/i) },
    });
    // What had streamed is the failed response's (incomplete) message.
    const streamed = events.flatMap((event) =>
      event.type === 'response.output_text.delta' ? [event.delta] : [],
    );
    expect(last.response.output_text).toBe(streamed.join(''));
    await expect(client.responses.retrieve(last.response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('keeps responses in SQLite: one made before a restart is retrieved and continued after it', async () => {
    const created = await client.responses.create({
      model: 'test/tiny-lm',
      input: 'Hello there!',
      max_output_tokens: 3,
      temperature: 0,
    });
    await core.dispose({ keepData: true });
    core = await startTestCore({ dataDir: dataDir.path });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    expect(await client.responses.retrieve(created.id)).toEqual(created);
    const continued = await client.responses.create({
      model: 'test/tiny-lm',
      previous_response_id: created.id,
      input: 'And again?',
      max_output_tokens: 2,
      temperature: 0,
    });
    expect(continued.usage?.input_tokens).toBe(
      tokenCount(
        render([
          { role: 'user', content: 'Hello there!' },
          { role: 'assistant', content: created.output_text },
          { role: 'user', content: 'And again?' },
        ]),
      ),
    );
  });
});
