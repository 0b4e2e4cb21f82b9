// The benchmark's llama models written as GGUF hold the same model as their ONNX files: llama.cpp
// (node-llama-cpp's prebuilt CPU library) on the f32 GGUF writes, token for token, what Lodge's
// runner and a bare onnxruntime loop write on the ONNX. This checks the GGUF writer (weights, the
// rotary permutation of Q and K, metadata, tokenizer), not speed: the benchmark's speed rows rest on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY } from '../../../src/shared/engine';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { LlamaCpp } from '../../../bench/llama-cpp';
import { BUILT_RUNNER } from '../../helpers/core';
import { ggufFixturePath } from '../../fixtures/gguf';
import { fixturePath, TINY_LM, WIDE_LLAMA_LM, type LanguageModelSpec } from '../../fixtures/models';
import { bareGreedy, chatIds, decodeIds, textIds, type Message } from './reference';

const NEW_TOKENS = 24;
const MESSAGES: Message[] = [{ role: 'user', content: 'Hello there! Tell me about the sea.' }];
/** The tiny LM as a llama: the small vocabulary, so every id is one of the tokenizer's. */
const TINY_LLAMA_LM: LanguageModelSpec = { ...TINY_LM, rotary: { theta: 10_000 } };

describe.each([
  { name: 'tiny llama', spec: TINY_LLAMA_LM },
  { name: 'wide llama (vocab 151,936)', spec: WIDE_LLAMA_LM },
])('llama.cpp on the GGUF of the $name', ({ spec }) => {
  const dir = fixturePath(spec);
  const modelFile = join(dir, 'onnx/model.onnx');
  let runner: RunnerProcess;
  let lodgeText = '';
  let prompt: number[] = [];
  let cpp: LlamaCpp;

  beforeAll(async () => {
    runner = new RunnerProcess('test/llama-cpp', BUILT_RUNNER);
    await runner.ready;
    await runner.load({
      modelId: 'test/llama-cpp',
      task: 'text-generation',
      dir,
      modelFile,
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
    });
    for await (const event of runner.generate({
      prompt: { kind: 'chat', messages: MESSAGES },
      maxTokens: NEW_TOKENS,
      stop: [],
      sampling: GREEDY,
      ignoreEos: true,
    }))
      if (event.type === 'text') lodgeText += event.text;
    prompt = await chatIds(dir, MESSAGES);
    cpp = await LlamaCpp.open(ggufFixturePath(spec, 'f32'), 1, 256);
  }, 120_000);
  afterAll(async () => {
    await runner?.stop();
    await cpp?.close();
  });

  it('writes Lodge’s greedy text, and the bare onnxruntime loop’s tokens, at f32', async () => {
    const { tokens } = await cpp.greedy(prompt, NEW_TOKENS);
    expect(tokens).toHaveLength(NEW_TOKENS);
    expect(lodgeText.length).toBeGreaterThan(0);
    expect(await decodeIds(dir, tokens)).toBe(lodgeText);
    expect(tokens).toEqual(await bareGreedy(modelFile, prompt, NEW_TOKENS, new Set()));
  });

  it('tokenizes text as the fixture’s tokenizer does', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. How are you today?';
    expect(cpp.tokenize(text)).toEqual(await textIds(dir, text));
  });

  it.runIf(spec.vocabSize !== undefined).each(['q8_0', 'q4_0'] as const)(
    'runs the %s GGUF to text tokens, as its text bias asks',
    async (type) => {
      const quantized = await LlamaCpp.open(ggufFixturePath(spec, type), 1, 256);
      try {
        const { tokens } = await quantized.greedy(prompt, NEW_TOKENS);
        expect(tokens).toHaveLength(NEW_TOKENS);
        // Quantization moves random weights' close logits, so the tokens may part from f32's; but
        // the head's bias toward the tokenizer's ~280 text tokens holds. A wrong block layout
        // (scale, nibble order) scatters them over the 151,936 ids, mostly padding.
        const known = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as {
          model: { vocab: Record<string, number> };
        };
        const text = new Set(Object.values(known.model.vocab));
        expect(tokens.filter((token) => !text.has(token))).toEqual([]);
      } finally {
        await quantized.close();
      }
    },
  );
});
