import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTritonConfig } from '../../../src/main/core/export/triton-schema';
import { TENSOR_MODEL } from '../../fixtures/models';
import { installWhisper, TINY_WHISPER } from '../../fixtures/whisper';
import { launchChromium } from '../../helpers/browser';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const POLL = { timeout: 30_000 } as const;

describe('Export from the Library', () => {
  let core: TestCore;
  let browser: Browser;
  const out = tempDir('lodge-ui-export-');
  beforeAll(async () => {
    core = await startTestCore({ withUi: true, models: { 'local/tensors': TENSOR_MODEL } });
    installWhisper(TINY_WHISPER, join(core.dataDir, 'models'), 'test/whisper');
    await fetch(`${core.url}/app/models/refresh`, { method: 'POST' });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await core?.dispose();
    out.remove();
  });

  it("writes the repository from the model's row and shows the config it wrote, then the error of a second try", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    try {
      await page.goto(`${core.url}/#/library`);
      const row = page.getByTestId('library').locator('[data-model="local/tensors"]');
      await row.getByRole('button', { name: 'Export' }).click();
      const form = page.getByRole('form', { name: 'Export local/tensors' });
      await form.getByLabel('Repository folder').fill(out.path);
      await form.getByLabel('Instances run on').selectOption('gpu');
      await form.getByRole('button', { name: 'Export' }).click();
      const result = form.getByTestId('export-result');
      await expect.poll(() => result.textContent(), POLL).toContain('Exported as Triton model local_tensors');
      const written = readFileSync(join(out.path, 'local_tensors/config.pbtxt'), 'utf8');
      expect(await result.locator('pre').textContent()).toBe(written);
      expect(parseTritonConfig(written).instance_group).toEqual([{ kind: 'KIND_GPU', count: 1 }]);

      await form.getByRole('button', { name: 'Export' }).click();
      await expect
        .poll(() => form.getByRole('alert').textContent(), POLL)
        .toContain('already holds a model named local_tensors');
    } finally {
      await context.close();
    }
  }, 60_000);

  it('does not offer the export of a pipeline of graphs, and says why', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    try {
      await page.goto(`${core.url}/#/library`);
      const exportIcon = page
        .getByTestId('library')
        .locator('[data-model="test/whisper"]')
        .getByRole('button', { name: 'Export' });
      await expect.poll(() => exportIcon.isDisabled(), POLL).toBe(true);
      expect(await exportIcon.getAttribute('title')).toBe(
        'A pipeline of 2 graphs (an audio encoder, a text decoder); Triton export takes single-graph models',
      );
    } finally {
      await context.close();
    }
  }, 60_000);
});
