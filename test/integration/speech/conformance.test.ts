// Lodge's Whisper decoding through its real forked runner against transformers.js'
// WhisperForConditionalGeneration.generate() on the same generated model and the same audio,
// greedy, with timestamps: the same tokens, a short clip and a 41 s one (long-form seek loop).
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import decode from 'audio-decode';
import {
  AutoTokenizer,
  env,
  MoonshineForConditionalGeneration,
  Tensor as TransformersTensor,
  WhisperFeatureExtractor,
  WhisperForConditionalGeneration,
  type Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscribeResult } from '../../../src/shared/engine';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { BUILT_RUNNER } from '../../helpers/core';
import { maxNewTokens } from '../../../src/main/runner/speech/speech-model';
import { TINY_MOONSHINE, TINY_WHISPER, whisperIds, whisperPath } from '../../fixtures/whisper';
import { toneBursts, wavFile } from '../../fixtures/whisper-audio';

const dir = whisperPath(TINY_WHISPER);
const ids = whisperIds();

function useLocalFolder(folder: string): string {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(folder)}/`;
  return basename(folder);
}

/** transformers.js' whole output sequence for `samples` (prompt, tokens, end token). */
async function reference(samples: Float32Array): Promise<number[]> {
  const config = JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const long = samples.length > 480_000;
  const extractor = new WhisperFeatureExtractor({
    ...config,
    ...(long ? { nb_max_frames: Number.MAX_SAFE_INTEGER } : {}),
  });
  const { input_features } = await extractor(samples, long ? { max_length: samples.length } : {});
  const model = await WhisperForConditionalGeneration.from_pretrained(useLocalFolder(dir), {
    dtype: 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  try {
    const output = (await model.generate({
      inputs: input_features,
      return_timestamps: true,
      language: 'en',
      task: 'transcribe',
    } as Parameters<typeof model.generate>[0])) as Tensor;
    return (output.tolist() as bigint[][])[0]?.map(Number) ?? [];
  } finally {
    await model.dispose();
  }
}

/** Lodge's passes in transformers.js' convention: timestamps shifted by the window and capped at 30 s. */
function asSequence(result: TranscribeResult): number[] {
  const sequence = [ids.sot, ids.byToken['<|en|>'] as number, ids.byToken['<|transcribe|>'] as number];
  for (const pass of result.passes) {
    const shift = Math.floor(pass.seek / 2);
    for (const token of pass.tokens)
      sequence.push(token >= ids.timestampBegin ? Math.min(token + shift, ids.timestampBegin + 1500) : token);
  }
  sequence.push(ids.eos);
  return sequence;
}

describe('speech conformance: Whisper against transformers.js', () => {
  let runner: RunnerProcess;
  const clips = {
    short: toneBursts(3.3, 1),
    other: toneBursts(3.3, 2),
    long: toneBursts(41.3, 3),
  };
  const heard: Record<string, Float32Array> = {};
  const lodge: Record<string, TranscribeResult> = {};

  beforeAll(async () => {
    runner = new RunnerProcess('test/whisper', BUILT_RUNNER);
    await runner.ready;
    await runner.load({
      modelId: 'test/whisper',
      task: 'speech-to-text',
      dir,
      modelFile: join(dir, 'onnx', 'decoder_model_merged.onnx'),
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
    });
    for (const [name, samples] of Object.entries(clips)) {
      const wav = wavFile([samples], 16_000);
      // The reference hears exactly what Lodge's decoder makes of the file.
      heard[name] = (await decode(new Uint8Array(wav))).channelData[0] as Float32Array;
      lodge[name] = await runner.call('transcribe', {
        request: { audio: new Uint8Array(wav), task: 'transcribe', language: 'en', temperature: 0 },
      });
    }
  }, 120_000);
  afterAll(async () => {
    await runner.stop();
  });

  it('writes tokens with timestamps, and different audio gives different tokens', () => {
    const short = lodge.short as TranscribeResult;
    expect(short.passes.length).toBeGreaterThan(0);
    expect(short.passes.flatMap((pass) => pass.tokens).some((token) => token >= ids.timestampBegin)).toBe(
      true,
    );
    expect(short.text.length).toBeGreaterThan(0);
    expect(asSequence(short)).not.toEqual(asSequence(lodge.other as TranscribeResult));
  });

  it.each(['short', 'other'])(
    'equals transformers.js token for token on a 3.3 s clip (%s)',
    async (name) => {
      expect(asSequence(lodge[name] as TranscribeResult)).toEqual(
        await reference(heard[name] as Float32Array),
      );
    },
    60_000,
  );

  it('equals transformers.js token for token on 41 s of audio, window after window', async () => {
    const long = lodge.long as TranscribeResult;
    expect(long.passes.length).toBeGreaterThan(1);
    expect(long.passes.at(-1)?.seek).toBeGreaterThan(2999);
    expect(asSequence(long)).toEqual(await reference(heard.long as Float32Array));
    expect(long.segments.at(-1)?.end).toBeGreaterThan(30);
    expect(long.duration).toBeCloseTo(41.3, 1);
  }, 120_000);

  it('writes the text transformers.js decodes from the same tokens', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(useLocalFolder(dir));
    const short = lodge.short as TranscribeResult;
    const tokens = short.passes.flatMap((pass) => pass.tokens);
    expect(short.text).toBe(tokenizer.decode(tokens, { skip_special_tokens: true }).trim());
  });
});

describe('speech conformance: Moonshine (raw-audio encoder) against transformers.js', () => {
  const moonshine = whisperPath(TINY_MOONSHINE);
  let runner: RunnerProcess;
  afterAll(async () => {
    await runner?.stop();
  });

  it('equals transformers.js generate() token for token on a 4.2 s clip', async () => {
    runner = new RunnerProcess('test/moonshine', BUILT_RUNNER);
    await runner.ready;
    await runner.load({
      modelId: 'test/moonshine',
      task: 'speech-to-text',
      dir: moonshine,
      modelFile: join(moonshine, 'onnx', 'decoder_model_merged.onnx'),
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
    });
    const wav = wavFile([toneBursts(4.2, 8)], 16_000);
    const samples = (await decode(new Uint8Array(wav))).channelData[0] as Float32Array;
    const lodge = await runner.call('transcribe', {
      request: { audio: new Uint8Array(wav), task: 'transcribe', temperature: 0 },
    });
    const model = await MoonshineForConditionalGeneration.from_pretrained(useLocalFolder(moonshine), {
      dtype: 'fp32',
      device: 'cpu',
      session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
    });
    try {
      const output = (await model.generate({
        input_values: new TransformersTensor('float32', samples, [1, samples.length]),
        max_new_tokens: maxNewTokens(samples.length / 16_000),
      } as Parameters<typeof model.generate>[0])) as Tensor;
      const reference = ((output.tolist() as bigint[][])[0] ?? []).map(Number).slice(1);
      if (reference.at(-1) === ids.eos) reference.pop();
      expect(lodge.passes).toHaveLength(1);
      expect(lodge.passes[0]?.tokens.length).toBeGreaterThan(0);
      expect(lodge.passes[0]?.tokens).toEqual(reference);
      expect(lodge.segments[0]?.end).toBeCloseTo(4.2, 1);
    } finally {
      await model.dispose();
    }
  }, 60_000);
});

describe('speech conformance: an fp16 Whisper against transformers.js', () => {
  const half = whisperPath({ ...TINY_WHISPER, fp16: true });
  let runner: RunnerProcess;
  afterAll(async () => {
    await runner?.stop();
  });

  it('feeds float16 features and cache, reads float16 logits: the same tokens as transformers.js', async () => {
    runner = new RunnerProcess('test/whisper-fp16', BUILT_RUNNER);
    await runner.ready;
    await runner.load({
      modelId: 'test/whisper-fp16',
      task: 'speech-to-text',
      dir: half,
      modelFile: join(half, 'onnx', 'decoder_model_merged_fp16.onnx'),
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
    });
    const wav = wavFile([toneBursts(3.3, 1)], 16_000);
    const samples = (await decode(new Uint8Array(wav))).channelData[0] as Float32Array;
    const lodge = await runner.call('transcribe', {
      request: { audio: new Uint8Array(wav), task: 'transcribe', language: 'en', temperature: 0 },
    });
    expect(lodge.passes[0]?.tokens.length).toBeGreaterThan(0);
    const config = JSON.parse(readFileSync(join(half, 'preprocessor_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const { input_features } = await new WhisperFeatureExtractor(config)(samples);
    const model = await WhisperForConditionalGeneration.from_pretrained(useLocalFolder(half), {
      dtype: 'fp16',
      device: 'cpu',
      session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
    });
    try {
      const output = (await model.generate({
        // transformers.js feeds the graph's float16 input as given.
        inputs: input_features.to('float16'),
        return_timestamps: true,
        language: 'en',
        task: 'transcribe',
      } as Parameters<typeof model.generate>[0])) as Tensor;
      expect(asSequence(lodge)).toEqual((output.tolist() as bigint[][])[0]?.map(Number));
    } finally {
      await model.dispose();
    }
  }, 60_000);
});
