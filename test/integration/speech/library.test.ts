// Speech exports in the library and on the hub: a variant is the decoder of a dtype suffix with
// the encoder of the same suffix, merged decoders before the older split pair, and both layouts
// decode the same audio to the same tokens.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compatibility, filesFor } from '../../../src/main/core/hub/repo-files';
import type { HubFile } from '../../../src/main/core/hub/hub-client';
import { inspectModelFolder } from '../../../src/main/core/library/model-folder';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { BUILT_RUNNER } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { writeDemoSpeech } from '../../fixtures/demo-speech';
import { installWhisper, TINY_WHISPER } from '../../fixtures/whisper';
import { toneBursts, wavFile } from '../../fixtures/whisper-audio';

const temp = tempDir();
afterAll(() => temp.remove());

function record(dir: string) {
  const result = inspectModelFolder(dir, 'test/whisper');
  if (!('record' in result)) throw new Error(`not a model: ${result.reason}`);
  return result.record;
}

describe('speech folders', () => {
  it('reads a Whisper export as speech-to-text, one variant per decoder suffix with its encoder', () => {
    const dir = installWhisper({ ...TINY_WHISPER, variants: ['quantized', 'fp16'] }, temp.path, 'a/variants');
    // A decoder whose encoder is missing is no variant.
    rmSync(join(dir, 'onnx', 'encoder_model_fp16.onnx'));
    const info = record(dir);
    expect(info.task).toBe('speech-to-text');
    expect(info.architecture).toBe('WhisperForConditionalGeneration');
    expect(info.variants.map((variant) => variant.name).sort()).toEqual(['fp32', 'quantized']);
    const quantized = info.variants.find((variant) => variant.name === 'quantized');
    expect(quantized?.file).toBe(join(dir, 'onnx', 'decoder_model_merged_quantized.onnx'));
    const size = (name: string) => statSync(join(dir, 'onnx', name)).size;
    expect(quantized?.bytes).toBe(
      size('decoder_model_merged_quantized.onnx') + size('encoder_model_quantized.onnx'),
    );
  });

  it('reads the split layout: decoder_model with decoder_with_past_model', () => {
    const dir = installWhisper({ ...TINY_WHISPER, layout: 'split' }, temp.path, 'a/split');
    const [variant] = record(dir).variants;
    expect(variant?.file).toBe(join(dir, 'onnx', 'decoder_model.onnx'));
    const size = (name: string) => statSync(join(dir, 'onnx', name)).size;
    expect(variant?.bytes).toBe(
      size('decoder_model.onnx') + size('decoder_with_past_model.onnx') + size('encoder_model.onnx'),
    );
  });

  it('decodes the same tokens from the merged and the split layout of one model', async () => {
    const merged = installWhisper(TINY_WHISPER, temp.path, 'b/merged');
    const split = installWhisper({ ...TINY_WHISPER, layout: 'split' }, temp.path, 'b/split');
    const audio = new Uint8Array(wavFile([toneBursts(4.1, 5)], 16_000));
    const transcribe = async (dir: string, decoder: string) => {
      const runner = new RunnerProcess('test/whisper', BUILT_RUNNER);
      try {
        await runner.ready;
        await runner.load({
          modelId: 'test/whisper',
          task: 'speech-to-text',
          dir,
          modelFile: join(dir, 'onnx', decoder),
          providers: ['cpu'],
          threads: 1,
          cacheDir: null,
        });
        return await runner.call('transcribe', {
          request: { audio, task: 'transcribe', language: 'fr', temperature: 0 },
        });
      } finally {
        await runner.stop();
      }
    };
    const a = await transcribe(merged, 'decoder_model_merged.onnx');
    const b = await transcribe(split, 'decoder_model.onnx');
    expect(a.passes[0]?.tokens.length).toBeGreaterThan(0);
    expect(b.passes).toEqual(a.passes);
    expect(b.text).toBe(a.text);
  }, 60_000);
});

describe('speech repos on the hub', () => {
  const file = (path: string, size = 10): HubFile => ({ path, size, sha256: null, gitOid: null });
  const repo = [
    file('config.json'),
    file('generation_config.json'),
    file('preprocessor_config.json'),
    file('tokenizer.json'),
    file('onnx/encoder_model.onnx', 100),
    file('onnx/decoder_model_merged.onnx', 200),
    file('onnx/encoder_model_q4.onnx', 30),
    file('onnx/encoder_model_q4.onnx_data', 300),
    file('onnx/decoder_model_merged_q4.onnx', 40),
    file('onnx/decoder_model.onnx', 500),
    file('onnx/decoder_with_past_model.onnx', 500),
  ];

  it('downloads a variant with its encoder, the encoder’s data and the feature extractor config', () => {
    const offer = compatibility(repo);
    const q4 = offer.variants.find((variant) => variant.name === 'q4');
    expect(q4?.files.map((entry) => entry.path).sort()).toEqual([
      'onnx/decoder_model_merged_q4.onnx',
      'onnx/encoder_model_q4.onnx',
      'onnx/encoder_model_q4.onnx_data',
    ]);
    expect(q4?.bytes).toBe(370);
    const fp32 = offer.variants.find((variant) => variant.name === 'fp32');
    expect(fp32?.files.map((entry) => entry.path).sort()).toEqual([
      'onnx/decoder_model_merged.onnx',
      'onnx/encoder_model.onnx',
    ]);
    const paths = filesFor(repo, fp32 as NonNullable<typeof fp32>).map((entry) => entry.path);
    expect(paths).toContain('preprocessor_config.json');
    expect(paths).not.toContain('onnx/decoder_with_past_model.onnx');
  });
});

describe('the demo speech model', () => {
  it('is a speech-to-text model folder the library reads', () => {
    expect(writeDemoSpeech(temp.path)).toBe('demo/tiny-whisper');
    const info = record(join(temp.path, 'demo', 'tiny-whisper'));
    expect(info.task).toBe('speech-to-text');
    expect(info.variants.map((variant) => variant.name)).toEqual(['fp32']);
  });
});
