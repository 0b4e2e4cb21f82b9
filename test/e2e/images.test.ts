import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoImage } from '../fixtures/demo-image';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, freshPage, POLL } from './ui-helpers';

describe('the Library’s demo models button', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
  });

  it('fills an empty library with a demo model of every kind', async () => {
    const { page, close } = await freshPage(browser);
    await page.goto(`${server.url}/#/library`);
    await page.getByRole('button', { name: 'Add demo models' }).click();
    const library = page.getByTestId('library');
    for (const id of [
      'demo/tiny-chat',
      'demo/tiny-embeddings',
      'demo/tiny-tensors',
      'demo/tiny-sd-turbo',
      'demo/tiny-whisper',
      'demo/tiny-smolvlm',
    ])
      await expect.poll(() => library.locator(`[data-model="${id}"]`).count(), POLL).toBe(1);
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'demo models' }).textContent(), POLL)
      .toMatch(/random/);
    const { models } = await appJson<{ models: { id: string; task: string }[] }>(server.url, '/app/models');
    expect(models.find((model) => model.id === 'demo/tiny-sd-turbo')?.task).toBe('text-to-image');
    await close();
  });
});

describe('the Images view', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(join(home.path, 'models'), { recursive: true });
    writeDemoImage(join(home.path, 'models'));
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
  });

  it('shows each step’s progress, can stop, generates into the gallery and deletes from it', async () => {
    const { page, close } = await freshPage(browser);
    await page.goto(`${server.url}/#/images`);
    const form = page.getByTestId('image-form');
    await form.getByLabel('Prompt', { exact: true }).fill('a lighthouse at dusk');
    // Many steps at a large size: long enough to watch the progress and stop it.
    await form.getByLabel('Steps').fill('150');
    await form.getByLabel('Size').selectOption('1024x1024');
    await form.getByRole('button', { name: 'Generate' }).click();
    const progress = page.getByTestId('image-progress');
    await expect.poll(() => progress.textContent(), POLL).toMatch(/Step \d+ of 150/);
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => form.getByRole('button', { name: 'Generate' }).isEnabled(), POLL).toBe(true);
    expect(await page.getByTestId('gallery').count()).toBe(0);

    await form.getByLabel('Steps').fill('2');
    await form.getByLabel('Size').selectOption('256x256');
    await form.getByLabel('Seed').fill('77');
    await form.getByRole('button', { name: 'Generate' }).click();
    const item = page.getByTestId('gallery').locator('li');
    await expect.poll(() => item.count(), POLL).toBe(1);
    await expect.poll(() => item.first().textContent(), POLL).toContain('a lighthouse at dusk');
    expect(await item.first().textContent()).toContain('seed 77');
    // The picture itself loaded, at the size asked for.
    await expect
      .poll(
        () =>
          item
            .first()
            .locator('img')
            .evaluate((img) => Number(Reflect.get(img, 'naturalWidth'))),
        POLL,
      )
      .toBe(256);
    const { images } = await appJson<{ images: { id: string; seed: number; steps: number }[] }>(
      server.url,
      '/app/images',
    );
    expect(images).toMatchObject([{ seed: 77, steps: 2 }]);

    // The gallery is kept: a new page shows it.
    await page.reload();
    await expect.poll(() => page.getByTestId('gallery').locator('li').count(), POLL).toBe(1);
    await page.getByRole('button', { name: 'Delete image' }).click();
    await expect.poll(() => page.getByTestId('gallery').count(), POLL).toBe(0);
    expect((await appJson<{ images: unknown[] }>(server.url, '/app/images')).images).toEqual([]);
    await close();
  });
});
