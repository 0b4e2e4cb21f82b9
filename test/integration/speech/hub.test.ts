// A Whisper repo on a fake hub: found by the speech task, downloaded as one variant (its decoder,
// its encoder and the feature extractor's config), listed as speech-to-text, and it transcribes.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../../fixtures/fake-hub';
import { TINY_WHISPER, whisperPath } from '../../fixtures/whisper';
import { toneBursts, wavFile } from '../../fixtures/whisper-audio';
import { startTestCore, type TestCore } from '../../helpers/core';
import { downloadUntil } from '../../helpers/downloads';

describe('speech models from the hub', () => {
  let hub: FakeHub;
  let core: TestCore;
  beforeAll(async () => {
    hub = await FakeHub.start([
      {
        id: 'acme/whisper-tiny',
        dir: whisperPath({ ...TINY_WHISPER, variants: ['q4'] }),
        pipelineTag: 'automatic-speech-recognition',
      },
    ]);
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl } });
  });
  afterAll(async () => {
    await core?.dispose();
    await hub?.close();
  });

  it('finds, downloads one variant with its encoder, and transcribes with it', async () => {
    const search = (await (
      await fetch(`${core.url}/app/hub/search?task=automatic-speech-recognition`)
    ).json()) as { models: { id: string }[] };
    expect(search.models.map((model) => model.id)).toEqual(['acme/whisper-tiny']);
    await downloadUntil(core.url, { repo: 'acme/whisper-tiny', variant: 'q4' }, 'completed');
    const model = (await (await fetch(`${core.url}/app/models/acme/whisper-tiny`)).json()) as {
      task: string;
      variants: { name: string }[];
      files: { path: string }[];
    };
    expect(model.task).toBe('speech-to-text');
    expect(model.variants.map((variant) => variant.name)).toEqual(['q4']);
    const files = model.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'onnx/encoder_model_q4.onnx',
        'onnx/decoder_model_merged_q4.onnx',
        'preprocessor_config.json',
        'generation_config.json',
      ]),
    );
    expect(files).not.toContain('onnx/encoder_model.onnx');
    const client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const result = await client.audio.transcriptions.create({
      file: await toFile(wavFile([toneBursts(2.5, 4)], 16_000), 'clip.wav'),
      model: 'acme/whisper-tiny',
      language: 'en',
    });
    expect(result.text.length).toBeGreaterThan(0);
  });
});
