// The resampler keeps a tone's pitch and loudness and removes what the lower rate cannot carry.
import { describe, expect, it } from 'vitest';
import { resample } from '../../../src/main/runner/speech/resample';

const tone = (frequency: number, rate: number, seconds: number) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) =>
    Math.sin((2 * Math.PI * frequency * i) / rate),
  );

/** The amplitude of `frequency` in `samples` (a single-bin DFT over the middle, away from the edges). */
function amplitude(samples: Float32Array, frequency: number, rate: number): number {
  let re = 0;
  let im = 0;
  const start = Math.floor(samples.length / 4);
  const end = Math.floor((3 * samples.length) / 4);
  for (let i = start; i < end; i++) {
    re += (samples[i] as number) * Math.cos((2 * Math.PI * frequency * i) / rate);
    im += (samples[i] as number) * Math.sin((2 * Math.PI * frequency * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (end - start);
}

describe('resample', () => {
  it.each([
    [44_100, 16_000],
    [48_000, 16_000],
    [8_000, 16_000],
    [22_050, 16_000],
  ])('keeps a 440 Hz tone from %i Hz to %i Hz', (from, to) => {
    const out = resample(tone(440, from, 1), from, to);
    expect(out.length).toBe(Math.floor((from * to) / from));
    expect(amplitude(out, 440, to)).toBeCloseTo(1, 1);
  });

  it('filters out a 12 kHz tone on the way from 44.1 kHz to 16 kHz (it would alias to 4 kHz)', () => {
    const out = resample(tone(12_000, 44_100, 1), 44_100, 16_000);
    expect(amplitude(out, 4_000, 16_000)).toBeLessThan(0.05);
  });

  it('returns the samples themselves when the rates agree', () => {
    const samples = tone(440, 16_000, 0.1);
    expect(resample(samples, 16_000, 16_000)).toBe(samples);
  });
});
