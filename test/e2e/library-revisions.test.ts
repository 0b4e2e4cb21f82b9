import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, TINY_EMBEDDER } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, freshPage, POLL } from './ui-helpers';

interface Revisions {
  revisions: { revision: string; short: string; active: boolean; pinned: boolean }[];
}

describe('the Library shows a model’s revisions and switches, pins and deletes them', () => {
  const home = tempDir();
  const sources = tempDir('lodge-ui-revisions-');
  let server: ServeProcess;
  let browser: Browser;
  const revisions = () => appJson<Revisions>(server.url, '/app/models/local/embedder/revisions');
  beforeAll(async () => {
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    browser = await launchChromium();
    // Two contents imported under one id: the second has one more file.
    const first = join(sources.path, 'first');
    const second = join(sources.path, 'second');
    cpSync(fixturePath(TINY_EMBEDDER), first, {
      recursive: true,
      filter: (path) => !path.endsWith('.complete'),
    });
    cpSync(first, second, { recursive: true });
    writeFileSync(join(second, 'NOTES.md'), 'the second revision\n');
    for (const path of [first, second])
      await appJson(server.url, '/app/models/import', {
        method: 'POST',
        body: JSON.stringify({ path, id: 'local/embedder' }),
      });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
    sources.remove();
  });

  it('lists both with dates and sizes, makes the old one active, pins, and deletes', async () => {
    const [old, newer] = (await revisions()).revisions;
    if (old === undefined || newer === undefined) throw new Error('expected two revisions');
    const { page, close } = await freshPage(browser);
    await page.goto(`${server.url}/#/library`);
    const row = page.getByTestId('library').locator('[data-model="local/embedder"]');
    await row.getByRole('button', { name: 'Revisions' }).click();
    const panel = page.getByTestId('revisions');
    const oldRow = panel.locator(`[data-revision="${old.short}"]`);
    const newRow = panel.locator(`[data-revision="${newer.short}"]`);
    await expect.poll(() => panel.locator('tbody tr').count(), POLL).toBe(2);
    const state = (revisionRow: typeof oldRow) => revisionRow.locator('td.state').textContent();
    expect(await newRow.textContent()).toMatch(/\d+(\.\d+)? KB/);
    expect(await state(newRow)).toContain('active');
    expect(await state(oldRow)).not.toContain('active');
    expect(await oldRow.textContent()).toMatch(/\d{4}/);
    expect(await panel.getByTestId('revisions-disk').textContent()).toMatch(/2 kept · .* on disk/);

    await oldRow.getByRole('button', { name: 'Make active' }).click();
    await expect.poll(async () => state(oldRow), POLL).toContain('active');
    expect(await state(newRow)).not.toContain('active');
    expect((await revisions()).revisions.map((revision) => revision.active)).toEqual([true, false]);

    await newRow.getByRole('button', { name: 'Pin' }).click();
    await expect.poll(async () => state(newRow), POLL).toContain('pinned');
    expect(await newRow.getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);
    await newRow.getByRole('button', { name: 'Unpin' }).click();
    await expect
      .poll(async () => newRow.getByRole('button', { name: 'Delete' }).isDisabled(), POLL)
      .toBe(false);

    await newRow.getByRole('button', { name: 'Delete' }).click();
    await newRow.getByRole('button', { name: 'Confirm delete' }).click();
    await expect.poll(() => panel.locator('tbody tr').count(), POLL).toBe(1);
    expect((await revisions()).revisions.map((revision) => revision.revision)).toEqual([old.revision]);
    // The active revision offers no delete.
    expect(await oldRow.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await close();
  });
});
