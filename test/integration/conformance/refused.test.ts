// Over the OpenAI API: a model Lodge cannot run right is refused with a clear error, never
// answered with text and 200. Broken logits (NaN, all equal) and bf16 tensors each get a message
// naming the model and the fault.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM, type LanguageModelSpec } from '../../fixtures/models';

const SMALL: LanguageModelSpec = { ...TINY_LM, hidden: 32, ffn: 64, maxPositions: 256, seed: 41 };

describe('models refused at load, over the OpenAI API', () => {
  let core: TestCore;
  let client: OpenAI;
  beforeAll(async () => {
    core = await startTestCore({
      models: {
        'test/nan-logits': { ...SMALL, poison: 'nan' },
        'test/flat-logits': { ...SMALL, poison: 'constant' },
        'test/bf16': { ...SMALL, bf16Io: true },
        'test/q4f16': { ...SMALL, quant: 'q4', dtype: 'fp16', ffn: 96 },
      },
    });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
  });

  const ask = (model: string) =>
    client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Hello there!' }],
      max_tokens: 8,
      temperature: 0,
    });

  it.each([
    ['test/nan-logits', /test\/nan-logits failed its load check .*logits are not finite/],
    ['test/flat-logits', /test\/flat-logits failed its load check .*logits are all equal/],
    ['test/bf16', /test\/bf16 could not be loaded: its graph has bfloat16 inputs or outputs/],
  ])('refuses %s with a clear message instead of text', async (model, message) => {
    const error: unknown = await ask(model).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).not.toBe(200);
    expect(apiError.message).toMatch(message);
    expect(apiError.message).not.toMatch(/\/tmp\/|\.cache\/|at \w+ \(/);
  });

  it('answers a q4f16 model (fp16 logits and KV) with readable text', async () => {
    const answer = await ask('test/q4f16');
    const text = answer.choices[0]?.message.content ?? '';
    // The fixture's LM head favours letters, spaces and punctuation: raw fp16 bits read as
    // floats would favour whatever token has the largest bit pattern instead.
    expect(text).toMatch(/^[A-Za-z .,!?]+$/);
    expect(answer.usage?.completion_tokens).toBe(8);
  });
});
