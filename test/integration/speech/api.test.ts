// OpenAI's Audio API on a real core, with the official openai SDK: transcriptions and
// translations of WAV uploads by a generated Whisper, in every response format and streamed, and
// the clear errors a client can cause.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_LM } from '../../fixtures/models';
import { installWhisper, TINY_WHISPER } from '../../fixtures/whisper';
import { toneBursts, wavFile } from '../../fixtures/whisper-audio';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const MODEL = 'test/whisper';
const clip = toneBursts(3.3, 1);
const wav = wavFile([clip], 16_000);

describe('OpenAI audio API', () => {
  const data = tempDir();
  let core: TestCore;
  let client: OpenAI;

  beforeAll(async () => {
    mkdirSync(join(data.path, 'models'), { recursive: true });
    installWhisper(TINY_WHISPER, join(data.path, 'models'), MODEL);
    installWhisper({ ...TINY_WHISPER, englishOnly: true }, join(data.path, 'models'), 'test/whisper-en');
    core = await startTestCore({ dataDir: data.path, models: { 'test/tiny': TINY_LM } });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
    data.remove();
  });

  const file = (bytes: Buffer = wav, name = 'clip.wav') => toFile(bytes, name, { type: 'audio/wav' });

  it('lists the model as a speech-to-text model with its variant', async () => {
    const response = await fetch(`${core.url}/app/models`);
    const { models } = (await response.json()) as {
      models: { id: string; task: string; variants: { name: string }[] }[];
    };
    const whisper = models.find((model) => model.id === MODEL);
    expect(whisper?.task).toBe('speech-to-text');
    expect(whisper?.variants.map((variant) => variant.name)).toEqual(['fp32']);
  });

  it('transcribes a WAV upload as json, and verbose_json with timed segments says the same', async () => {
    const plain = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'en',
    });
    expect(plain.text.length).toBeGreaterThan(0);
    const verbose = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'en',
      response_format: 'verbose_json',
      timestamp_granularities: ['segment'],
    });
    expect(verbose.text).toBe(plain.text);
    expect(verbose.language).toBe('english');
    expect(verbose.duration).toBeCloseTo(3.3, 1);
    const segments = verbose.segments ?? [];
    expect(segments.length).toBeGreaterThan(0);
    expect(
      segments
        .map((segment) => segment.text)
        .join('')
        .trim(),
    ).toBe(plain.text);
    for (const segment of segments) {
      expect(segment.end).toBeGreaterThanOrEqual(segment.start);
      expect(segment.end).toBeLessThanOrEqual(3.3);
      expect(segment.tokens.length).toBeGreaterThan(0);
    }
  });

  it('answers text, srt and vtt', async () => {
    const text = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'en',
      response_format: 'text',
    });
    const json = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'en',
    });
    expect(String(text).trim()).toBe(json.text);
    const srt = String(
      await client.audio.transcriptions.create({
        file: await file(),
        model: MODEL,
        language: 'en',
        response_format: 'srt',
      }),
    );
    expect(srt).toMatch(/^1\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n\S/);
    const vtt = String(
      await client.audio.transcriptions.create({
        file: await file(),
        model: MODEL,
        language: 'en',
        response_format: 'vtt',
      }),
    );
    expect(vtt).toMatch(/^WEBVTT\n\n\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d\n\S/);
  });

  it('streams transcript.text.delta events, then transcript.text.done with the whole text', async () => {
    const json = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'en',
    });
    const stream = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'en',
      stream: true,
    });
    const deltas: string[] = [];
    let done: string | null = null;
    for await (const event of stream) {
      if (event.type === 'transcript.text.delta') deltas.push(event.delta);
      if (event.type === 'transcript.text.done') done = event.text;
    }
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.join('').trim()).toBe(json.text);
    expect(done).toBe(json.text);
  });

  it('translates, and hears resampled stereo 44.1 kHz audio', async () => {
    const translation = await client.audio.translations.create({ file: await file(), model: MODEL });
    expect(translation.text.length).toBeGreaterThan(0);
    const stereo = wavFile([toneBursts(3.3, 1, 44_100), toneBursts(3.3, 1, 44_100)], 44_100);
    const verbose = await client.audio.transcriptions.create({
      file: await file(stereo, 'stereo.wav'),
      model: MODEL,
      language: 'en',
      response_format: 'verbose_json',
    });
    expect(verbose.duration).toBeCloseTo(3.3, 1);
    expect(verbose.text.length).toBeGreaterThan(0);
  });

  it('takes an upload above the JSON body limit: a minute of 44.1 kHz stereo (10 MiB)', async () => {
    const minute = toneBursts(60, 9, 44_100);
    const big = wavFile([minute, minute], 44_100);
    expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
    const verbose = await client.audio.transcriptions.create({
      file: await file(big, 'minute.wav'),
      model: MODEL,
      language: 'en',
      response_format: 'verbose_json',
    });
    expect(verbose.duration).toBeCloseTo(60, 1);
    expect(verbose.segments?.at(-1)?.end).toBeGreaterThan(30);
  }, 60_000);

  it('refuses what a client gets wrong, in OpenAI error shape', async () => {
    const refused = async (work: Promise<unknown>) => {
      const error = await work.then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(OpenAI.APIError);
      return error as InstanceType<typeof OpenAI.APIError>;
    };
    const notAudio = await refused(
      client.audio.transcriptions.create({
        file: await file(Buffer.from('this is not audio at all'.repeat(10)), 'notes.wav'),
        model: MODEL,
      }),
    );
    expect(notAudio.status).toBe(400);
    expect(notAudio.message).toMatch(/not audio Lodge can decode/);
    const notAudioStreamed = await refused(
      client.audio.transcriptions.create({
        file: await file(Buffer.from('this is not audio at all'.repeat(10)), 'notes.wav'),
        model: MODEL,
        stream: true,
      }),
    );
    expect(notAudioStreamed.status).toBe(400);
    const wrongKind = await refused(
      client.audio.transcriptions.create({ file: await file(), model: 'test/tiny' }),
    );
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.message).toMatch(/test\/tiny is a text-generation model, not a speech-to-text model/);
    const unknown = await refused(
      client.audio.transcriptions.create({ file: await file(), model: 'nobody/nothing' }),
    );
    expect(unknown.status).toBe(404);
    const language = await refused(
      client.audio.transcriptions.create({ file: await file(), model: MODEL, language: 'xx' }),
    );
    expect(language.status).toBe(400);
    expect(language.message).toMatch(/does not know language "xx"/);
    const words = await refused(
      client.audio.transcriptions.create({
        file: await file(),
        model: MODEL,
        response_format: 'verbose_json',
        timestamp_granularities: ['word'],
      }),
    );
    expect(words.status).toBe(400);
    const huge = await refused(
      client.audio.transcriptions.create({
        file: await file(Buffer.alloc(25 * 1024 * 1024 + 1)),
        model: MODEL,
      }),
    );
    expect(huge.status).toBe(413);
    expect(huge.message).toMatch(/larger than 25 MiB/);
  });

  it('detects the language when none is given, and conditions on a prompt of earlier text', async () => {
    const detected = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      response_format: 'verbose_json',
    });
    expect(['english', 'french', 'german']).toContain(detected.language);
    const plain = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'en',
    });
    const prompted = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'en',
      prompt: 'The weather in Tokyo is sunny.',
    });
    expect(prompted.text.length).toBeGreaterThan(0);
    expect(prompted.text).not.toBe(plain.text);
    const regional = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      language: 'EN-us',
    });
    expect(regional.text).toBe(plain.text);
  });

  it('tells what an English-only model cannot do', async () => {
    const english = await client.audio.transcriptions.create({
      file: await file(),
      model: 'test/whisper-en',
      response_format: 'verbose_json',
    });
    expect(english.language).toBe('english');
    expect(english.text.length).toBeGreaterThan(0);
    const translate = await client.audio.translations
      .create({ file: await file(), model: 'test/whisper-en' })
      .then(
        () => null,
        (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
      );
    expect(translate?.status).toBe(400);
    expect(translate?.message).toMatch(/English-only; it cannot translate/);
    const french = await client.audio.transcriptions
      .create({ file: await file(), model: 'test/whisper-en', language: 'fr' })
      .then(
        () => null,
        (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
      );
    expect(french?.status).toBe(400);
    expect(french?.message).toMatch(/English-only/);
  });

  it('answers a request that is not a form, or has no file, with a 400 naming what is missing', async () => {
    const json = await fetch(`${core.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL }),
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: { message: string } }).error.message).toMatch(
      /multipart\/form-data/,
    );
    const form = new FormData();
    form.set('model', MODEL);
    const noFile = await fetch(`${core.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(noFile.status).toBe(400);
    const body = (await noFile.json()) as { error: { message: string; param: string; type: string } };
    expect(body.error).toMatchObject({ param: 'file', type: 'invalid_request_error' });
  });
});
