// Hostile audio uploads on a real core with the official openai SDK: a small file that decodes to
// hours of samples is a 400 in OpenAI's shape, and the runner keeps transcribing afterwards.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentFlac } from '../../fixtures/flac-silence';
import { installWhisper, TINY_WHISPER } from '../../fixtures/whisper';
import { toneBursts, wavFile } from '../../fixtures/whisper-audio';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const MODEL = 'test/whisper';

describe('hostile audio uploads', () => {
  const data = tempDir();
  let core: TestCore;
  let client: OpenAI;

  beforeAll(async () => {
    mkdirSync(join(data.path, 'models'), { recursive: true });
    installWhisper(TINY_WHISPER, join(data.path, 'models'), MODEL);
    core = await startTestCore({ dataDir: data.path });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
    data.remove();
  });

  const refusal = async (bytes: Uint8Array, name: string) => {
    const error: unknown = await client.audio.transcriptions
      .create({ file: await toFile(bytes, name), model: MODEL })
      .then(
        () => null,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  };

  // Whole, these 130 kB decode to 2.8 GB of samples (and as much again to mix them down) before
  // the length was checked; a 25 MiB upload of the same kind stands for terabytes.
  it('refuses 24 hours of FLAC silence in 130 kB as too long, and still transcribes after', async () => {
    const bomb = await refusal(silentFlac(24 * 60 * 60, 8_000), 'silence.flac');
    expect(bomb.status).toBe(400);
    expect(bomb.message).toMatch(/longer than 120 minutes/);
    expect(bomb.message).not.toContain(data.path);
    const text = await client.audio.transcriptions.create({
      file: await toFile(wavFile([toneBursts(2, 1)], 16_000), 'clip.wav'),
      model: MODEL,
    });
    expect(typeof text.text).toBe('string');
  });
});
