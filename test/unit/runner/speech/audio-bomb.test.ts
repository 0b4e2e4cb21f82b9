import decode from 'audio-decode';
import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../../../../src/main/runner/speech/audio-input';
import { silentFlac } from '../../../fixtures/flac-silence';
import { toneBursts, wavFile } from '../../../fixtures/whisper-audio';

describe('decoding an upload is bounded by its length, not by how far it expands', () => {
  // Whole, these 130 kB were 2.8 GB of samples, then a second copy mixing them down (5.5 GB): the
  // runner stops at two hours' worth (230 MB) instead.
  it(
    'refuses 24 hours of FLAC silence (130 kB) once it has decoded two hours of it',
    { timeout: 60_000 },
    async () => {
      const bomb = silentFlac(24 * 60 * 60, 8_000);
      expect(bomb.byteLength).toBeLessThan(200 * 1024);
      await expect(decodeAudio(bomb, 16_000)).rejects.toThrow(/longer than 120 minutes/);
    },
  );

  it('decodes a file chunk by chunk to the samples a whole-file decode gives', async () => {
    const left = toneBursts(3, 1, 44_100);
    const right = toneBursts(3, 2, 44_100);
    const wav = new Uint8Array(wavFile([left, right], 16_000));
    const whole = await decode(wav);
    const mixed = (whole.channelData[0] as Float32Array).map(
      (value, index) => (value + (whole.channelData[1]?.[index] ?? 0)) / 2,
    );
    const { samples, seconds } = await decodeAudio(wav, 16_000);
    expect(seconds).toBe(3 * (44_100 / 16_000));
    expect(samples).toEqual(mixed);
  });

  it('decodes a short FLAC file whole: every frame of its samples', async () => {
    const { samples, seconds } = await decodeAudio(silentFlac(10), 16_000);
    expect(samples.length).toBe(3 * 65_535);
    expect(seconds).toBeCloseTo((3 * 65_535) / 16_000, 6);
    expect(samples.every((value) => value === 0)).toBe(true);
  });

  it('reads a file handed over as a view into a larger buffer, as the runner receives it over IPC', async () => {
    const wav = wavFile([toneBursts(1)], 16_000);
    const carrier = new Uint8Array(wav.byteLength + 100);
    carrier.set(wav, 100);
    const { samples } = await decodeAudio(carrier.subarray(100), 16_000);
    expect(samples.length).toBe(16_000);
  });

  it('refuses a file that is no audio format Lodge reads', async () => {
    await expect(
      decodeAudio(new Uint8Array(Buffer.from('PK\u0003\u0004 not audio')), 16_000),
    ).rejects.toThrow(/not audio Lodge can decode/);
  });
});
