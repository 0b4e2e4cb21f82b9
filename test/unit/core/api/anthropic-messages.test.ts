import { describe, expect, it } from 'vitest';
import { formatAnthropicError } from '../../../../src/main/core/api/anthropic/errors';
import { templatePrompt } from '../../../../src/main/core/api/anthropic/messages';
import { CountTokensRequestSchema } from '../../../../src/main/core/api/anthropic/schemas';
import { LodgeError } from '../../../../src/main/core/errors';

const prompt = (body: unknown) => templatePrompt(CountTokensRequestSchema.parse(body));

describe('Anthropic messages as the chat template sees them', () => {
  it('puts tool results in order as tool messages, between the user text around them', () => {
    const { messages, tools } = prompt({
      model: 'm',
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'Be kind.' },
      ],
      messages: [
        { role: 'user', content: 'Weather in Tokyo and Oslo?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'two calls', signature: 'x' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_a', name: 'weather', input: { city: 'Tokyo' } },
            { type: 'tool_use', id: 'toolu_b', name: 'weather', input: { city: 'Oslo' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_a', content: 'Sunny' },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_b',
              is_error: true,
              content: [{ type: 'text', text: 'timeout' }],
            },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    expect(tools).toBeUndefined();
    expect(messages).toEqual([
      { role: 'system', content: 'Be brief.\nBe kind.' },
      { role: 'user', content: 'Weather in Tokyo and Oslo?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { type: 'function', id: 'toolu_a', function: { name: 'weather', arguments: { city: 'Tokyo' } } },
          { type: 'function', id: 'toolu_b', function: { name: 'weather', arguments: { city: 'Oslo' } } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_a', content: 'Sunny' },
      { role: 'tool', tool_call_id: 'toolu_b', content: 'Error: timeout' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });

  it('offers tools in the template format, and none for tool_choice none', () => {
    const tool = { name: 'weather', description: 'By city', input_schema: { type: 'object' } };
    const base = { model: 'm', messages: [{ role: 'user', content: 'Hi' }], tools: [tool] };
    expect(prompt(base).tools).toEqual([
      {
        type: 'function',
        function: { name: 'weather', description: 'By city', parameters: { type: 'object' } },
      },
    ]);
    expect(prompt({ ...base, tool_choice: { type: 'none' } }).tools).toBeUndefined();
  });

  it('refuses what the model cannot take, naming where it is', () => {
    expect(() =>
      prompt({ model: 'm', messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }),
    ).toThrow(/^messages\.0\.content\.0: content blocks of type "document" are not supported/);
    expect(() =>
      prompt({ model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] }),
    ).toThrow('messages.0.content.0.tool_use_id: Field required.');
    expect(() =>
      prompt({
        model: 'm',
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      }),
    ).toThrow(/Lodge runs no server tools such as "web_search_20250305"/);
  });
});

describe("Anthropic's error shape", () => {
  it.each([
    ['invalid_request', 400, 'invalid_request_error'],
    ['unauthorized', 401, 'authentication_error'],
    ['forbidden', 403, 'permission_error'],
    ['model_not_found', 404, 'not_found_error'],
    ['payload_too_large', 413, 'request_too_large'],
    ['queue_full', 429, 'rate_limit_error'],
    ['internal', 500, 'api_error'],
    ['shutting_down', 503, 'overloaded_error'],
  ] as const)('%s → %i %s', (code, status, type) => {
    const reply = formatAnthropicError(new LodgeError(code, 'why'));
    expect(reply.status).toBe(status);
    expect(reply.body).toEqual({ type: 'error', error: { type, message: 'why' } });
  });

  it('tells the SDK not to retry what would fail again', () => {
    expect(formatAnthropicError(new LodgeError('model_load_failed', 'bad file')).headers).toMatchObject({
      'x-should-retry': 'false',
    });
  });
});
