import { Template } from '@huggingface/jinja';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { scriptedLanguageModel } from '../../fixtures/models';
import { CHATML_TEMPLATE } from '../../fixtures/tokenizer';

const messages = [{ role: 'user' as const, content: 'What is the weather in Tokyo?' }];
const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather by city',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
};
// The prompt the runner will render for this request: the scripted answer starts right after it.
const prompt = new Template(CHATML_TEMPLATE).render({
  messages,
  tools: [weatherTool],
  add_generation_prompt: true,
  eos_token: '<|im_end|>',
  pad_token: '<|endoftext|>',
});
const answer =
  'Let me check.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}\n</tool_call>';

describe('tool calls the model writes, as each API returns them', () => {
  let core: TestCore;
  let openai: OpenAI;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/caller': scriptedLanguageModel(prompt, answer) } });
    openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('OpenAI: tool_calls with arguments as a JSON string, finish_reason tool_calls', async () => {
    const completion = await openai.chat.completions.create({
      model: 'test/caller',
      messages,
      tools: [weatherTool],
      temperature: 0,
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBe('Let me check.');
    expect(choice?.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call-/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' },
      },
    ]);
  });

  it('OpenAI streaming: the SDK reassembles the tool call from its deltas', async () => {
    const stream = openai.chat.completions.stream({
      model: 'test/caller',
      messages,
      tools: [weatherTool],
      temperature: 0,
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(final.choices[0]?.message.content).toBe('Let me check.');
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : null).toEqual({ city: 'Tokyo' });
  });

  it('without tools offered, the same text is plain content', async () => {
    // A different prompt (no tools), so the script does not line up: only check nothing is parsed.
    const completion = await openai.chat.completions.create({
      model: 'test/caller',
      messages,
      temperature: 0,
      max_tokens: 5,
    });
    expect(completion.choices[0]?.message.tool_calls).toBeUndefined();
  });

  it('Ollama: tool_calls with arguments as an object', async () => {
    const ollama = new Ollama({ host: core.url });
    const response = await ollama.chat({
      model: 'test/caller',
      messages,
      tools: [weatherTool],
      options: { temperature: 0 },
    });
    expect(response.message.content).toBe('Let me check.');
    expect(response.message.tool_calls).toEqual([
      { function: { name: 'get_weather', arguments: { city: 'Tokyo' } } },
    ]);
    expect(response.done_reason).toBe('stop');
  });
});
