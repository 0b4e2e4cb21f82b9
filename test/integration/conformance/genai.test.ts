// Folders users already have: onnxruntime-genai builder output and Foundry Local models (a
// GroupQueryAttention decoder beside genai_config.json, no config.json) are read as text models
// with genai's search defaults and context, and answer over the OpenAI API token for token like a
// bare onnxruntime loop, over two chat turns (the second reusing the first one's KV cache).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectModelFolder } from '../../../src/main/core/library/model-folder';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { BUILT_RUNNER, startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { FOUNDRY_PROMPT_TEMPLATE, genaiFileName, GENAI_SEARCH } from '../../fixtures/genai-layout';
import { fixturePath, TINY_LM, type LanguageModelSpec } from '../../fixtures/models';
import { bareGreedy, chatIds, decodeIds, textIds, type Message } from './reference';

const BASE: LanguageModelSpec = {
  ...TINY_LM,
  hidden: 32,
  heads: 4,
  kvHeads: 2,
  ffn: 96,
  maxPositions: 256,
  seed: 31,
  gqa: true,
};
const GENAI: LanguageModelSpec = { ...BASE, layout: 'genai' };
const FOUNDRY: LanguageModelSpec = { ...BASE, layout: 'foundry', quant: 'q4', seed: 32 };
const NEW_TOKENS = 10;
const FIRST: Message[] = [
  { role: 'system', content: 'You answer briefly.' },
  { role: 'user', content: 'Hello there! Tell me about the sea.' },
];
const SECOND: Message = { role: 'user', content: 'And what about the mountains?' };

/** Foundry's own rendering of a PromptTemplate: each message in its role's text, then the assistant's opening. */
async function foundryIds(dir: string, messages: readonly Message[]): Promise<number[]> {
  const text =
    messages
      .map((message) => FOUNDRY_PROMPT_TEMPLATE[message.role].replace('{Content}', message.content))
      .join('') + FOUNDRY_PROMPT_TEMPLATE.assistant.split('{Content}')[0];
  return textIds(dir, text);
}

describe.each([
  { name: 'onnxruntime-genai builder folder', spec: GENAI, prompt: chatIds },
  { name: 'Foundry Local folder (PromptTemplate, int4 MatMulNBits)', spec: FOUNDRY, prompt: foundryIds },
])('$name', ({ spec, prompt }) => {
  const dir = fixturePath(spec);
  const modelFile = join(dir, genaiFileName(spec));
  const eos = new Set(
    (
      JSON.parse(readFileSync(join(dir, 'genai_config.json'), 'utf8')) as {
        model: { eos_token_id: number[] };
      }
    ).model.eos_token_id,
  );
  let core: TestCore;
  let client: OpenAI;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'local/genai': spec } });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('is read as a text model with genai_config.json’s file, context and search defaults', () => {
    const read = inspectModelFolder(dir, 'local/genai');
    if (!('record' in read)) throw new Error(`not a model folder: ${read.reason}`);
    expect(read.record.task).toBe('text-generation');
    expect(read.record.variants.map((variant) => variant.file)).toEqual([modelFile]);
    expect(read.record.contextLength).toBe(GENAI_SEARCH.max_length);
    expect(read.record.hasChatTemplate).toBe(true);
    expect(read.record.generationDefaults).toEqual({
      temperature: GENAI_SEARCH.temperature,
      topP: GENAI_SEARCH.top_p,
      topK: GENAI_SEARCH.top_k,
      repetitionPenalty: GENAI_SEARCH.repetition_penalty,
    });
  });

  it('answers two chat turns over the OpenAI API like a bare onnxruntime loop, token for token', async () => {
    const turns: Message[][] = [FIRST];
    for (let turn = 0; turn < 2; turn++) {
      const messages = turns[turn] as Message[];
      const answer = await client.chat.completions.create({
        model: 'local/genai',
        messages,
        max_tokens: NEW_TOKENS,
        temperature: 0,
      });
      const text = answer.choices[0]?.message.content ?? '';
      const reference = await bareGreedy(modelFile, await prompt(dir, messages), NEW_TOKENS, eos);
      expect(text, `turn ${turn + 1}`).toBe(await decodeIds(dir, reference));
      expect(text.length, `turn ${turn + 1}`).toBeGreaterThan(0);
      if (turn === 1) expect(answer.usage?.prompt_tokens_details?.cached_tokens ?? 0).toBeGreaterThan(0);
      turns.push([...messages, { role: 'assistant', content: text }, SECOND]);
    }
  });
});

describe('a genai folder whose decoder tensors are renamed', () => {
  it('is refused at load, naming the tensor and the name Lodge feeds', async () => {
    const dir = tempDir();
    const runner = new RunnerProcess('local/renamed', BUILT_RUNNER);
    try {
      cpSync(fixturePath(GENAI), dir.path, { recursive: true });
      const file = join(dir.path, 'genai_config.json');
      const config = JSON.parse(readFileSync(file, 'utf8')) as {
        model: { decoder: { inputs: Record<string, string> } };
      };
      config.model.decoder.inputs.past_key_names = 'past.%d.key';
      writeFileSync(file, JSON.stringify(config));
      await runner.ready;
      await expect(
        runner.load({
          modelId: 'local/renamed',
          task: 'text-generation',
          dir: dir.path,
          modelFile: join(dir.path, genaiFileName(GENAI)),
          providers: ['cpu'],
          threads: 1,
          cacheDir: null,
        }),
      ).rejects.toMatchObject({
        code: 'model_load_failed',
        message:
          'genai_config.json names the decoder\'s past_key_names "past.%d.key"; Lodge feeds the builder\'s default "past_key_values.%d.key".',
      });
    } finally {
      await runner.stop();
      dir.remove();
    }
  });
});
