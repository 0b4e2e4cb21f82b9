// The load check in a real forked runner: a language model whose logits are broken, or whose
// tensors Lodge cannot read, is refused at load with model_load_failed naming it and the fault,
// so it can never answer garbage with 200.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { BUILT_RUNNER } from '../../helpers/core';
import { GREEDY, type GenerateEvent } from '../../../src/shared/engine';
import {
  fixturePath,
  lmFileName,
  scriptedLanguageModel,
  TINY_LM,
  type LanguageModelSpec,
} from '../../fixtures/models';

const SMALL: LanguageModelSpec = { ...TINY_LM, hidden: 32, ffn: 64, maxPositions: 256, seed: 31 };

let runner: RunnerProcess | null = null;
afterEach(async () => {
  await runner?.stop();
  runner = null;
});

async function load(id: string, spec: LanguageModelSpec) {
  const dir = fixturePath(spec);
  runner = new RunnerProcess(id, BUILT_RUNNER);
  await runner.ready;
  return runner.load({
    modelId: id,
    task: 'text-generation',
    dir,
    modelFile: join(dir, 'onnx', lmFileName(spec)),
    providers: ['cpu'],
    threads: 1,
    cacheDir: null,
  });
}

describe('the load check of a language model', () => {
  it('loads a sound model', async () => {
    await expect(load('test/sound', SMALL)).resolves.toMatchObject({ provider: 'cpu', contextLength: 256 });
  });

  it('refuses a model whose logits are NaN, naming the model and the fault', async () => {
    await expect(load('test/nan-logits', { ...SMALL, poison: 'nan' })).rejects.toMatchObject({
      code: 'model_load_failed',
      message: expect.stringMatching(/^test\/nan-logits failed its load check .*logits are not finite/),
    });
  });

  it('refuses a model whose logits are the same for every token', async () => {
    await expect(load('test/flat-logits', { ...SMALL, poison: 'constant' })).rejects.toMatchObject({
      code: 'model_load_failed',
      message: expect.stringMatching(/^test\/flat-logits failed its load check .*logits are all equal/),
    });
  });

  it('refuses a bf16 model in words, naming the variants it can run instead', async () => {
    await expect(load('test/bf16', { ...SMALL, bf16Io: true })).rejects.toMatchObject({
      code: 'model_load_failed',
      message: expect.stringMatching(/^test\/bf16 could not be loaded: its graph has bfloat16 inputs .*fp16/),
    });
  });

  it('refuses a graph with an input it does not know how to feed, naming it', async () => {
    await expect(load('test/extra-input', { ...SMALL, extraInput: 'cache_position' })).rejects.toMatchObject({
      code: 'model_load_failed',
      message:
        'test/extra-input cannot be loaded as a language model: its graph has an input Lodge does not know how to feed (cache_position, int64).',
    });
  });

  it('refuses a Gemma-style sliding-window config (sliding layers among global ones), naming it', async () => {
    await expect(
      load('test/gemma-style', { ...SMALL, slidingWindow: 64, interleaved: true }),
    ).rejects.toMatchObject({
      code: 'model_load_failed',
      message:
        "test/gemma-style uses Gemma-style sliding-window attention (sliding_window: 64 in config.json, interleaved with global layers), which Lodge does not run: past 64 tokens its answers could differ from the model's.",
    });
  });

  it('caps the context at a window every layer shares (Mistral, Phi-3), where attention is exact', async () => {
    await expect(load('test/sliding', { ...SMALL, slidingWindow: 64 })).resolves.toMatchObject({
      contextLength: 64,
    });
  });

  it('runs a config whose window spans the whole context (full attention)', async () => {
    await expect(load('test/full-window', { ...SMALL, slidingWindow: 256 })).resolves.toMatchObject({
      contextLength: 256,
    });
  });
});

describe('a model with several end-of-sequence ids', () => {
  it('ends the answer at the second EOS id of generation_config.json as at the first', async () => {
    const prompt = 'Say hi.';
    for (const end of ['<|im_end|>', '<|endoftext|>'] as const) {
      await load(`test/eos-${end.length}`, scriptedLanguageModel(prompt, 'Hi there', end));
      const events: GenerateEvent[] = [];
      for await (const event of (runner as RunnerProcess).generate({
        prompt: { kind: 'text', text: prompt },
        maxTokens: 30,
        stop: [],
        sampling: GREEDY,
      }))
        events.push(event);
      const text = events.map((event) => (event.type === 'text' ? event.text : '')).join('');
      expect({ end, text, done: events.at(-1) }).toMatchObject({
        end,
        text: 'Hi there',
        done: { type: 'done', finishReason: 'stop' },
      });
      await runner?.stop();
      runner = null;
    }
  });
});
