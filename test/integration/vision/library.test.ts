// How the library reads vision-language folders: the task, the variants that have all three graphs,
// a family Lodge does not run refused by name, and the demo model a new user starts with.
import { copyFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectModelFolder } from '../../../src/main/core/library/model-folder';
import { writeDemoVision } from '../../fixtures/demo-vision';
import { TINY_VLM, vlmPath } from '../../fixtures/vlm';
import { testImage } from '../../fixtures/vlm-image';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { BUILT_RUNNER, startTestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

describe('vision-language model folders', () => {
  const temps: { remove: () => void }[] = [];
  const copy = (): string => {
    const temp = tempDir();
    temps.push(temp);
    const dir = join(temp.path, 'model');
    cpSync(vlmPath(TINY_VLM), dir, { recursive: true });
    return dir;
  };
  afterEach(() => {
    for (const temp of temps.splice(0)) temp.remove();
  });

  it('reads a SmolVLM export as image-text-to-text, with only the variants that have all three graphs', () => {
    const dir = copy();
    for (const stem of ['vision_encoder', 'embed_tokens', 'decoder_model_merged'])
      copyFileSync(join(dir, 'onnx', `${stem}.onnx`), join(dir, 'onnx', `${stem}_q4.onnx`));
    // An fp16 decoder without its vision encoder is no variant.
    copyFileSync(
      join(dir, 'onnx', 'decoder_model_merged.onnx'),
      join(dir, 'onnx', 'decoder_model_merged_fp16.onnx'),
    );
    copyFileSync(join(dir, 'onnx', 'embed_tokens.onnx'), join(dir, 'onnx', 'embed_tokens_fp16.onnx'));
    const result = inspectModelFolder(dir, 'test/vlm');
    if (!('record' in result)) throw new Error(result.reason);
    expect(result.record.task).toBe('image-text-to-text');
    expect(result.record.variants.map((variant) => variant.name)).toEqual(['fp32', 'q4']);
    expect(result.record.variants[0]?.file).toBe(join(dir, 'onnx', 'decoder_model_merged.onnx'));
    const sizes = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'].map(
      (stem) => readFileSync(join(dir, 'onnx', `${stem}.onnx`)).length,
    );
    expect(result.record.variants[0]?.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(result.record.contextLength).toBe(TINY_VLM.maxPositions);
  });

  it('refuses a vision-language family Lodge does not run, naming it', () => {
    const dir = copy();
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'qwen2_vl' }));
    expect(inspectModelFolder(dir, 'test/qwen')).toEqual({
      reason: expect.stringMatching(/is a Qwen2-VL vision-language model .*Lodge runs SmolVLM and Idefics3/),
    });
  });

  it('refuses to load a model whose logits are not finite, saying so', async () => {
    const dir = vlmPath({ ...TINY_VLM, poison: true });
    const runner = new RunnerProcess('test/poisoned', BUILT_RUNNER);
    try {
      await runner.ready;
      await expect(
        runner.load({
          modelId: 'test/poisoned',
          task: 'image-text-to-text',
          dir,
          modelFile: join(dir, 'onnx', 'decoder_model_merged.onnx'),
          providers: ['cpu'],
          threads: 1,
          cacheDir: null,
        }),
      ).rejects.toThrow(/test\/poisoned failed its load check .*logits are not finite/);
    } finally {
      await runner.stop();
    }
  });

  it('writes a demo vision model that a fresh core lists and answers with an image', async () => {
    const data = tempDir();
    temps.push(data);
    expect(writeDemoVision(join(data.path, 'models'))).toBe('demo/tiny-smolvlm');
    const core = await startTestCore({ dataDir: data.path });
    try {
      const client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const image = (await testImage(64, 64, 4)).toString('base64');
      const answer = await client.chat.completions.create({
        model: 'demo/tiny-smolvlm',
        max_tokens: 4,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      });
      expect(answer.usage?.completion_tokens).toBeGreaterThan(0);
      expect(answer.usage?.prompt_tokens).toBeGreaterThan(16);
    } finally {
      await core.dispose({ keepData: true });
    }
  });
});
