// Lodge's log-mel features against transformers.js' WhisperFeatureExtractor on the same audio.
import { WhisperFeatureExtractor } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { LogMel } from '../../../src/main/runner/speech/log-mel';
import { toneBursts } from '../../fixtures/whisper-audio';

const SETTINGS = { nFft: 400, hop: 160, samplingRate: 16_000, windowSamples: 480_000 } as const;

function extractor(melBins: number, maxFrames = 3000) {
  return new WhisperFeatureExtractor({
    feature_size: melBins,
    sampling_rate: 16_000,
    hop_length: 160,
    chunk_length: 30,
    n_fft: 400,
    padding_value: 0,
    n_samples: 480_000,
    nb_max_frames: maxFrames,
  });
}

function maxDifference(a: Float32Array, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('log-mel features', () => {
  it.each([80, 128])(
    'equal transformers.js to 1e-4 for a short clip padded to 30 s (%i bins)',
    async (bins) => {
      const audio = toneBursts(3.3, bins);
      const lodge = new LogMel({ ...SETTINGS, melBins: bins }).features(audio);
      const reference = await extractor(bins)(audio);
      const features = reference.input_features;
      expect(features.dims).toEqual([1, bins, 3000]);
      expect(lodge.frames).toBe(3000);
      expect(lodge.data.length).toBe(features.data.length);
      expect(maxDifference(lodge.data, features.data as Float32Array)).toBeLessThan(1e-4);
    },
  );

  it('equal transformers.js to 1e-4 over a 41 s input, all frames at once', async () => {
    const audio = toneBursts(41.27, 3);
    const lodge = new LogMel({ ...SETTINGS, melBins: 80 }).features(audio);
    const reference = await extractor(80, Number.MAX_SAFE_INTEGER)(audio, { max_length: audio.length });
    expect(reference.input_features.dims).toEqual([1, 80, Math.floor(audio.length / 160)]);
    expect(lodge.frames).toBe(Math.floor(audio.length / 160));
    expect(maxDifference(lodge.data, reference.input_features.data as Float32Array)).toBeLessThan(1e-4);
  });
});
