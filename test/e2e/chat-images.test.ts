// Attaching and pasting images in Chat, in Chromium against the real headless core: the images show
// in the composer and in the sent message, reach the vision-language model (its prompt grows by
// their tokens), are kept with the conversation, and the attach button is only there for models
// that see images.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessageRecord, Conversation } from '../../src/shared/contract/conversations';
import { installFixture, TINY_LM } from '../fixtures/models';
import { TINY_VLM, vlmPath } from '../fixtures/vlm';
import { testImage } from '../fixtures/vlm-image';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, freshPage, POLL, type FreshPage } from './ui-helpers';

type Detail = Conversation & { messages: ChatMessageRecord[] };

describe('images in the Chat view', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  let opened: FreshPage | null = null;
  beforeAll(async () => {
    const models = join(home.path, 'models');
    mkdirSync(join(models, 'test'), { recursive: true });
    cpSync(vlmPath(TINY_VLM), join(models, 'test', 'smolvlm'), {
      recursive: true,
      filter: (source) => !source.endsWith('.complete'),
    });
    installFixture(TINY_LM, models, 'test/tiny-lm');
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    await appJson(server.url, '/app/models/test/smolvlm', {
      method: 'PATCH',
      body: JSON.stringify({ preset: { maxTokens: 6 } }),
    });
    browser = await launchChromium();
  });
  afterEach(async () => {
    await opened?.close();
    opened = null;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
  });

  /** Pastes a PNG (base64) into the message box, as a screenshot pasted from the clipboard arrives. */
  const pasteImage = (page: Page, base64: string) =>
    page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob('${base64}'), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      const event = new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true });
      document.querySelector('textarea[aria-label="Message"]').dispatchEvent(event);
    })()`);
  const newPage = async (): Promise<Page> => {
    opened = await freshPage(browser);
    return opened.page;
  };

  it('attaches one image and pastes another, shows both in the message, and keeps them', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/#/chat`);
    await expect.poll(() => page.getByLabel('Message').count(), POLL).toBe(1);
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByLabel('Model').selectOption('test/tiny-lm');
    expect(await page.getByRole('button', { name: 'Image' }).count()).toBe(0);
    await page.getByLabel('Model').selectOption('test/smolvlm');

    const picked = await testImage(80, 50, 1);
    await page
      .getByTestId('image-input')
      .setInputFiles({ name: 'picked.png', mimeType: 'image/png', buffer: picked });
    await expect.poll(() => page.getByAltText('Attached image 1').count(), POLL).toBe(1);
    const pasted = (await testImage(40, 70, 2)).toString('base64');
    await pasteImage(page, pasted);
    await expect.poll(() => page.getByAltText('Attached image 2').count(), POLL).toBe(1);
    // One can be taken off again, and put back.
    await page.getByRole('button', { name: 'Remove image 2' }).click();
    await expect.poll(() => page.getByAltText('Attached image 2').count(), POLL).toBe(0);
    await pasteImage(page, pasted);
    await expect.poll(() => page.getByAltText('Attached image 2').count(), POLL).toBe(1);

    await page.getByLabel('Message').fill('What is in these pictures?');
    await page.getByLabel('Message').press('Enter');
    await expect.poll(() => page.getByTestId('message-stats').count(), POLL).toBe(1);
    const question = page.locator('article[aria-label="You"]');
    expect(await question.getByRole('img').count()).toBe(2);
    expect(await page.getByAltText('Attached image 1').count()).toBe(0);

    const id = String(await page.evaluate(`localStorage.getItem('lodge.chat.last')`));
    const saved = await appJson<Detail>(server.url, `/app/conversations/${id}`);
    expect(saved.messages[0]?.images?.map((url) => url.slice(0, 22))).toEqual([
      'data:image/png;base64,',
      'data:image/png;base64,',
    ]);
    expect(saved.messages[0]?.images?.[0]).toBe(`data:image/png;base64,${picked.toString('base64')}`);
    // 80×50 is 6 tiles and a global view, 40×70 the same: 4 image tokens each, with the text around.
    expect(saved.messages[1]?.stats?.promptTokens).toBeGreaterThan(2 * 7 * 4);

    await page.reload();
    await expect.poll(() => page.locator('article[aria-label="You"]').getByRole('img').count(), POLL).toBe(2);
  });
});
