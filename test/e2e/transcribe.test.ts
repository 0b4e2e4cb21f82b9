// The Transcribe view and Chat's audio input in Chromium against a real core and a generated
// Whisper: a WAV file fed through the file input is transcribed into timed segments, the same
// text the API gives for it; Chat puts a file's and a (fake) microphone recording's text into the box.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_LM } from '../fixtures/models';
import { installWhisper, TINY_WHISPER } from '../fixtures/whisper';
import { toneBursts, wavFile } from '../fixtures/whisper-audio';
import { CHROMIUM_PATH } from '../helpers/browser';
import { startTestCore, type TestCore } from '../helpers/core';
import { tempDir } from '../helpers/temp-dir';
import { POLL } from './ui-helpers';

const MODEL = 'test/whisper';
const wav = wavFile([toneBursts(3.3, 1)], 16_000);

describe('speech in the UI', () => {
  const data = tempDir();
  let core: TestCore;
  let browser: Browser;
  let expected: { text: string; segments: unknown[] };

  beforeAll(async () => {
    mkdirSync(join(data.path, 'models'), { recursive: true });
    installWhisper(TINY_WHISPER, join(data.path, 'models'), MODEL);
    installWhisper({ ...TINY_WHISPER, seed: 21 }, join(data.path, 'models'), 'test/whisper-other');
    core = await startTestCore({ dataDir: data.path, withUi: true, models: { 'test/tiny': TINY_LM } });
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'clip.wav');
    form.set('model', MODEL);
    form.set('response_format', 'verbose_json');
    expected = (await (
      await fetch(`${core.url}/v1/audio/transcriptions`, { method: 'POST', body: form })
    ).json()) as typeof expected;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      // A fake microphone (a beeping tone), allowed without a prompt.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await core?.dispose();
    data.remove();
  });

  it('transcribes a WAV file into segments with times, as the API does', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${core.url}/#/transcribe`);
    await expect.poll(() => page.getByTestId('speech-model').inputValue(), POLL).toBe(MODEL);
    await page
      .getByTestId('audio-file')
      .setInputFiles({ name: 'clip.wav', mimeType: 'audio/wav', buffer: wav });
    await expect.poll(() => page.getByTestId('transcript-text').textContent(), POLL).toBe(expected.text);
    expect(await page.getByTestId('segment').count()).toBe(expected.segments.length);
    expect(await page.getByTestId('segment').first().locator('td').first().textContent()).toMatch(
      /^\d+:\d\d\.\d\d$/,
    );
    expect(await page.getByTestId('transcript-meta').textContent()).toContain('0:03.30');
    await page.close();
  });

  it('opens the Transcribe view with the model picked in the Library', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${core.url}/#/library`);
    const row = page.getByRole('row', { name: /test\/whisper-other/ });
    await expect.poll(() => row.getByRole('button', { name: 'Transcribe' }).count(), POLL).toBe(1);
    await row.getByRole('button', { name: 'Transcribe' }).click();
    await expect.poll(() => page.url(), POLL).toContain('#/transcribe');
    await expect.poll(() => page.getByTestId('speech-model').inputValue(), POLL).toBe('test/whisper-other');
    await page.close();
  });

  it('puts the text of an audio file, then of a microphone recording, into the chat box', async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      permissions: ['microphone'],
    });
    const page = await context.newPage();
    await page.goto(`${core.url}/#/chat`);
    await expect.poll(() => page.getByLabel('Message').count(), POLL).toBe(1);
    await expect.poll(() => page.getByTestId('chat-audio-file').count(), POLL).toBe(1);
    await page
      .getByTestId('chat-audio-file')
      .setInputFiles({ name: 'clip.wav', mimeType: 'audio/wav', buffer: wav });
    await expect.poll(() => page.getByLabel('Message').inputValue(), POLL).toBe(expected.text);

    await page.getByLabel('Message').fill('');
    await page.getByRole('button', { name: 'Record speech' }).click();
    const stop = page.getByRole('button', { name: 'Stop recording and transcribe' });
    await expect.poll(() => stop.count(), POLL).toBe(1);
    // NOTE: how long to record, not a wait for something to happen: a second of the fake tone.
    await page.waitForTimeout(1500);
    const answered = page.waitForResponse((response) => response.url().includes('/v1/audio/transcriptions'));
    await stop.click();
    // The recording (Chromium's WebM/Opus) was decoded and transcribed, and its text is what the box got.
    const response = await answered;
    expect(response.status()).toBe(200);
    const transcript = (await response.json()) as { text: string; duration: number };
    expect(transcript.duration).toBeGreaterThan(0.5);
    await expect.poll(() => page.getByLabel('Message').inputValue(), POLL).toBe(transcript.text.trim());
    expect(await page.getByRole('alert').count()).toBe(0);
    await context.close();
  });
});
