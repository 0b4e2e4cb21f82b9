import { describe, expect, it } from 'vitest';
import { GREEDY, type GenerateRequest } from '../../../../src/shared/engine';
import {
  openAiBody,
  ToolCallAssembly,
  upstreamErrorText,
} from '../../../../src/main/core/remote/openai-translation';
import { normalizeBaseUrl } from '../../../../src/main/core/remote/remote-endpoint';

const tool = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } };

function chat(extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    prompt: {
      kind: 'chat',
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ id: 'call_1', function: { name: 'get_weather', arguments: { city: 'Oslo' } } }],
        },
        { role: 'tool', content: '{"c": 3}', tool_call_id: 'call_1' },
      ],
      tools: [tool],
    },
    stop: [],
    sampling: GREEDY,
    ...extra,
  };
}

describe('openAiBody', () => {
  it('sends a chat as a streamed chat completion with usage, tool-call arguments as JSON text', () => {
    const { path, body } = openAiBody('m', chat({ maxTokens: 5, stop: ['\n'] }));
    expect(path).toBe('chat/completions');
    expect(body).toEqual({
      model: 'm',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 5,
      stop: ['\n'],
      temperature: 0,
      top_p: 1,
      tools: [tool],
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        { role: 'tool', content: '{"c": 3}', tool_call_id: 'call_1' },
      ],
    });
  });

  it('sends only the sampling fields that are not neutral', () => {
    const { body } = openAiBody(
      'm',
      chat({ sampling: { ...GREEDY, temperature: 0.7, topK: 40, repetitionPenalty: 1.1, seed: 7 } }),
    );
    expect(body).toMatchObject({ temperature: 0.7, top_k: 40, repetition_penalty: 1.1, seed: 7 });
    expect(body).not.toHaveProperty('min_p');
    expect(body).not.toHaveProperty('presence_penalty');
  });

  it('turns a grammar back into the OpenAI fields it came from', () => {
    const forced = (grammar: GenerateRequest['grammar']) => openAiBody('m', chat({ grammar })).body;
    expect(forced({ kind: 'tool_call', tools: [tool], mode: 'required' })).toMatchObject({
      tool_choice: 'required',
    });
    expect(
      forced({ kind: 'tool_call', tools: [tool], mode: { name: 'get_weather' }, parallel: false }),
    ).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
    });
    expect(forced({ kind: 'json' })).toMatchObject({ response_format: { type: 'json_object' } });
    expect(forced({ kind: 'json_schema', schema: { type: 'object' }, strict: true })).toMatchObject({
      response_format: { type: 'json_schema', json_schema: { schema: { type: 'object' }, strict: true } },
    });
  });

  it('sends a raw prompt as a completion', () => {
    const { path, body } = openAiBody('m', {
      prompt: { kind: 'text', text: 'Once' },
      stop: [],
      sampling: GREEDY,
    });
    expect(path).toBe('completions');
    expect(body).toMatchObject({ prompt: 'Once', stream: true });
  });
});

describe('ToolCallAssembly', () => {
  it('joins each call from its deltas, in index order, arguments parsed', () => {
    const assembly = new ToolCallAssembly();
    assembly.push([{ index: 1, id: 'b', function: { name: 'second', arguments: '' } }]);
    assembly.push([{ index: 0, id: 'a', function: { name: 'first', arguments: '{"x":' } }]);
    assembly.push([
      { index: 0, function: { arguments: '1}' } },
      { index: 1, function: { arguments: 'oops' } },
    ]);
    expect(assembly.finish()).toEqual([
      { name: 'first', arguments: { x: 1 } },
      { name: 'second', arguments: { value: 'oops' } },
    ]);
  });
});

describe('the edges of a remote engine', () => {
  it('normalizes a base URL to end in its API path', () => {
    expect(normalizeBaseUrl('http://127.0.0.1:8000')).toBe('http://127.0.0.1:8000/v1');
    expect(normalizeBaseUrl(' http://lab.local:11434/ ')).toBe('http://lab.local:11434/v1');
    expect(normalizeBaseUrl('https://host/openai/v1/')).toBe('https://host/openai/v1');
  });

  it('reads what an upstream error body says, in OpenAI or Ollama shape', () => {
    expect(upstreamErrorText('{"error":{"message":"no such model"}}')).toBe('no such model');
    expect(upstreamErrorText('{"error":"model not found"}')).toBe('model not found');
    expect(upstreamErrorText('<html>502</html>')).toBe('');
  });
});
