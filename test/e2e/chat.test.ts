import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessageRecord, Conversation } from '../../src/shared/contract/conversations';
import { installFixture, TINY_LM, WIDE_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, freshPage, POLL, type FreshPage } from './ui-helpers';

const SCREENSHOTS = join(import.meta.dirname, '../../test-results');

type Detail = Conversation & { messages: ChatMessageRecord[] };

// Each test opens its own page in a fresh browser context and makes its own conversations, so the
// tests pass alone, together, and in any order.
describe('the Chat view', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  let opened: FreshPage | null = null;
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    installFixture(WIDE_LM, join(home.path, 'models'), 'test/wide-lm');
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    // Short answers from the tiny model; the wide one writes until stopped.
    await appJson(server.url, '/app/models/test/tiny-lm', {
      method: 'PATCH',
      body: JSON.stringify({ preset: { maxTokens: 12 } }),
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

  const newPage = async (): Promise<Page> => {
    opened = await freshPage(browser);
    return opened.page;
  };
  const openChat = async (page: Page) => {
    await page.goto(`${server.url}/#/chat`);
    await expect.poll(() => page.getByLabel('Message').count(), POLL).toBe(1);
  };
  const answers = (page: Page) => page.locator('article[aria-label="Assistant"]');
  const questions = (page: Page) => page.locator('article[aria-label="You"]');
  const conversations = async () =>
    (await appJson<{ conversations: Conversation[] }>(server.url, '/app/conversations')).conversations;
  const detail = (id: string) => appJson<Detail>(server.url, `/app/conversations/${id}`);
  const create = async (
    title: string,
    model: string,
    messages: Partial<ChatMessageRecord>[] = [],
    params = {},
  ) => {
    const { id } = await appJson<Conversation>(server.url, '/app/conversations', {
      method: 'POST',
      body: JSON.stringify({ model, title, params }),
    });
    if (messages.length > 0)
      await appJson(server.url, `/app/conversations/${id}/messages`, {
        method: 'PUT',
        body: JSON.stringify({
          messages: messages.map((message) => ({ model: null, stats: null, ...message })),
        }),
      });
    return id;
  };
  /** The conversation the page shows, by the id it remembers for the next visit. */
  const shownId = async (page: Page) =>
    String(await page.evaluate(`localStorage.getItem('lodge.chat.last')`));

  it('streams an answer with its stats, regenerates it, and edits and resends a question', async () => {
    const page = await newPage();
    await openChat(page);
    const before = (await conversations()).length;
    // "New chat" stores nothing until the first message.
    for (let click = 0; click < 3; click++) await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByLabel('Model').selectOption('test/tiny-lm');
    expect((await conversations()).length).toBe(before);

    await page.getByLabel('Message').fill('**Hello** there, `friend`!');
    await page.getByLabel('Message').press('Enter');
    await expect.poll(() => page.getByTestId('message-stats').count(), POLL).toBe(1);
    expect((await conversations()).length).toBe(before + 1);
    const stats = (await page.getByTestId('message-stats').textContent()) ?? '';
    expect(stats, stats).toContain('12 tokens');
    expect(stats, stats).toMatch(/[\d.]+ tok\/s/);
    expect(stats, stats).toMatch(/first token\s+\d+\s+ms/);
    expect((await answers(page).first().textContent())?.trim().length).toBeGreaterThan(0);
    // The question renders as markdown; its title is the words, not the markup.
    expect(await questions(page).locator('strong').textContent()).toBe('Hello');
    const id = await shownId(page);
    expect((await detail(id)).title).toBe('Hello there, friend!');
    await expect
      .poll(() => page.locator(`li[data-conversation="${id}"] button.open`).textContent(), POLL)
      .toBe('Hello there, friend!');

    // Regenerating replaces the answer with a new one: a later saved answer, still one of them.
    const first = (await detail(id)).messages[1];
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(async () => (await detail(id)).messages[1]?.createdAt, POLL).not.toBe(first?.createdAt);
    expect((await detail(id)).messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    await expect.poll(() => page.getByTestId('message-stats').count(), POLL).toBe(1);
    expect(await answers(page).count()).toBe(1);

    const beforeEdit = (await detail(id)).messages[1]?.createdAt;
    await questions(page).getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Edit message').fill('How are you today?');
    await page.getByRole('button', { name: 'Send again' }).click();
    await expect.poll(() => questions(page).textContent(), POLL).toContain('How are you today?');
    // The list was already [question, answer with stats] before the edit: wait for the edited
    // question and a new answer, not for a shape that held all along.
    await expect
      .poll(
        async () =>
          (await detail(id)).messages.map((message) => [
            message.role,
            message.role === 'user'
              ? message.content
              : message.stats !== null && message.createdAt !== beforeEdit,
          ]),
        POLL,
      )
      .toEqual([
        ['user', 'How are you today?'],
        ['assistant', true],
      ]);

    // Every message has a copy button that copies what it says.
    await questions(page).getByRole('button', { name: 'Copy message' }).click();
    await expect.poll(() => page.evaluate('navigator.clipboard.readText()'), POLL).toBe('How are you today?');
    await answers(page).getByRole('button', { name: 'Copy message' }).click();
    await expect
      .poll(() => page.evaluate('navigator.clipboard.readText()'), POLL)
      .toBe((await detail(id)).messages[1]?.content);
    await page.screenshot({ path: join(SCREENSHOTS, 'chat.png') });
  });

  it('keeps each answer in its own conversation when another is opened mid-stream', async () => {
    const other = await create('Another chat', 'test/tiny-lm', [
      { role: 'user', content: 'What is left alone?' },
      { role: 'assistant', content: 'This answer, untouched.', model: 'test/tiny-lm' },
    ]);
    // Long enough to switch away while it is written, short enough to end on its own.
    const streaming = await create('A long answer', 'test/wide-lm', [], { maxTokens: 150 });
    const page = await newPage();
    await openChat(page);
    await page.getByRole('button', { name: 'A long answer', exact: true }).click();
    await expect.poll(() => shownId(page), POLL).toBe(streaming);
    await page.getByLabel('Message').fill('Tell me a long story.');
    await page.getByLabel('Message').press('Enter');
    await expect
      .poll(
        async () => ((await answers(page).last().textContent()) ?? '').replace('…', '').trim().length,
        POLL,
      )
      .toBeGreaterThan(0);

    // Opened mid-stream: the other conversation shows its own messages, the answer goes on elsewhere.
    await page.getByRole('button', { name: 'Another chat', exact: true }).click();
    await expect
      .poll(() => questions(page).allTextContents(), POLL)
      .toEqual([expect.stringContaining('What is left alone?')]);
    expect(await page.locator(`li[data-conversation="${streaming}"]`).getAttribute('aria-busy')).toBe('true');
    expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);

    // It ends while the other one is on screen, and is saved where it belongs.
    await expect
      .poll(() => page.locator(`li[data-conversation="${streaming}"]`).getAttribute('aria-busy'), POLL)
      .toBe('false');
    expect(await answers(page).allTextContents()).toEqual([
      expect.stringContaining('This answer, untouched.'),
    ]);
    const kept = await detail(other);
    expect(kept.messages.map((message) => message.content)).toEqual([
      'What is left alone?',
      'This answer, untouched.',
    ]);
    const answered = await detail(streaming);
    expect(answered.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(answered.messages[1]?.content.length).toBeGreaterThan(0);
    const generated = answered.messages[1]?.stats?.completionTokens ?? 0;
    expect(generated).toBeGreaterThan(0);

    // Back in its conversation, the answer is there with its figures.
    await page.getByRole('button', { name: 'A long answer', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('message-stats').textContent(), POLL)
      .toContain(`${generated} tokens`);
    expect(await questions(page).textContent()).toContain('Tell me a long story.');
  });

  it('stops an answer mid-stream with Esc and keeps what arrived, with its figures', async () => {
    const page = await newPage();
    await openChat(page);
    await page.getByLabel('Model').selectOption('test/wide-lm');
    await page.getByLabel('Message').fill('Tell me a long story.');
    await page.getByLabel('Message').press('Enter');
    await expect
      .poll(
        async () => ((await answers(page).last().textContent()) ?? '').replace('…', '').trim().length,
        POLL,
      )
      .toBeGreaterThan(5);
    await page.keyboard.press('Escape');
    await expect
      .poll(() => page.getByTestId('message-stats').last().textContent(), POLL)
      .toContain('stopped');
    expect((await answers(page).last().textContent())?.trim().length).toBeGreaterThan(5);
    // What was generated is counted: not "0 tokens · 0.0 tok/s", and the context bar is not empty.
    const stats = (await page.getByTestId('message-stats').textContent()) ?? '';
    const tokens = Number(/(\d+) tokens/.exec(stats)?.[1]);
    expect(tokens, stats).toBeGreaterThan(1);
    expect(Number(/([\d.]+) tok\/s/.exec(stats)?.[1]), stats).toBeGreaterThan(0);
    const used = Number(
      /^(\d+) \/ \d+ tokens/.exec((await page.getByTestId('context-used').textContent()) ?? '')?.[1],
    );
    expect(used).toBeGreaterThanOrEqual(tokens);
    const saved = await detail(await shownId(page));
    expect(saved.messages[1]?.stats).toMatchObject({ completionTokens: tokens, finishReason: 'stopped' });
  });

  it('compares two models with one prompt box and two pickers: Enter sends, Esc stops both', async () => {
    const page = await newPage();
    await openChat(page);
    await page.getByRole('button', { name: 'Compare' }).click();
    const main = page.locator('main');
    expect(await main.locator('textarea').count()).toBe(1);
    expect(await main.getByRole('combobox').count()).toBe(2);
    await page.getByLabel('Model 1').selectOption('test/tiny-lm');
    await page.getByLabel('Model 2').selectOption('test/tiny-lm');
    await page.getByLabel('Prompt to compare').fill('The quick brown fox');
    await page.getByLabel('Prompt to compare').press('Enter');
    for (const side of [0, 1]) {
      await expect
        .poll(() => page.getByTestId(`compare-${side}`).locator('.stats').textContent(), POLL)
        .toMatch(/12 tokens/);
    }

    await page.getByLabel('Model 1').selectOption('test/wide-lm');
    await page.getByLabel('Model 2').selectOption('test/wide-lm');
    await page.getByLabel('Prompt to compare').fill('Tell me a long story.');
    await page.getByLabel('Prompt to compare').press('Enter');
    // One model answers one prompt at a time: whichever pane it takes first streams.
    const written = async () =>
      Promise.all(
        [0, 1].map(
          async (side) =>
            (await page.getByTestId(`compare-${side}`).locator('.markdown').allTextContents()).join('').trim()
              .length,
        ),
      );
    await expect.poll(async () => Math.max(...(await written())), POLL).toBeGreaterThan(5);
    await page.keyboard.press('Escape');
    for (const side of [0, 1]) {
      await expect
        .poll(() => page.getByTestId(`compare-${side}`).locator('.stats').textContent(), POLL)
        .toContain('stopped');
    }
    const streamed = (await written()).findIndex((length) => length > 5);
    expect(await page.getByTestId(`compare-${streamed}`).locator('.stats').textContent()).toMatch(
      /^\s*[1-9]\d* tokens · [\d.]*[1-9][\d.]* tok\/s/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'chat-compare.png') });
    await page.getByRole('button', { name: 'Compare' }).click();
    expect(await page.getByLabel('Message').count()).toBe(1);
  });

  it('finds the conversation again after a reload', async () => {
    const page = await newPage();
    await openChat(page);
    await page.getByLabel('Model').selectOption('test/tiny-lm');
    await page.getByLabel('Message').fill('Remember me after a reload');
    await page.getByLabel('Message').press('Enter');
    await expect.poll(() => page.getByTestId('message-stats').count(), POLL).toBe(1);
    const id = await shownId(page);
    const asked = await questions(page).allTextContents();
    await page.reload();
    await expect.poll(() => questions(page).allTextContents(), POLL).toEqual(asked);
    expect(await shownId(page)).toBe(id);
    expect(await page.locator(`li[data-conversation="${id}"]`).textContent()).toContain(
      'Remember me after a reload',
    );
  });

  it('renders messages as sanitized markdown that cannot restyle the window', async () => {
    await create('Hostile markdown', 'test/tiny-lm', [
      { role: 'user', content: 'Show me *this* <style>main { display: none }</style>' },
      {
        role: 'assistant',
        model: 'test/tiny-lm',
        content:
          '<style>body { background: rgb(255, 0, 0) !important }</style>\n\n<p style="position:fixed;inset:0;background:red" id="cover">covered</p>\n\n<img src="x" onerror="window.pwned = 1">\n\n<link rel="stylesheet" href="data:text/css,main{display:none}"><svg><style>main{display:none}</style></svg>',
      },
    ]);
    const page = await newPage();
    await openChat(page);
    const before = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    await page.getByRole('button', { name: 'Hostile markdown', exact: true }).click();
    await expect.poll(() => answers(page).textContent(), POLL).toContain('covered');
    expect(await page.locator('.markdown style').count()).toBe(0);
    expect(await page.locator('.markdown [style]').count()).toBe(0);
    expect(await page.locator('.markdown link').count()).toBe(0);
    expect(await page.locator('.markdown [onerror]').count()).toBe(0);
    expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe(before);
    expect(await page.evaluate("getComputedStyle(document.querySelector('main')).display")).not.toBe('none');
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(await questions(page).locator('em').textContent()).toBe('this');
  });

  it('keeps a long conversation light: the latest 40 messages, at the end, earlier ones on request', async () => {
    const messages = Array.from({ length: 600 }, (_, index) => ({
      role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
      model: index % 2 === 0 ? null : 'test/tiny-lm',
      content:
        index % 2 === 0
          ? `question ${index}`
          : `answer ${index}\n\n\`\`\`python\nprint(${index})\n\`\`\`\n\n- a point\n- another`,
    }));
    await create('A long one', 'test/tiny-lm', messages);

    const page = await newPage();
    await openChat(page);
    await page.getByRole('button', { name: 'A long one', exact: true }).click();
    const articles = page.getByTestId('messages').locator('article');
    await expect.poll(() => articles.last().textContent(), POLL).toContain('answer 599');
    expect(await articles.count()).toBe(40);
    expect(await articles.first().textContent()).toContain('question 560');
    // The list scrolls (not the page), and it opened at its end: the last answer and the composer on screen.
    const list = page.getByTestId('messages');
    const geometry = () =>
      list.evaluate((element) => ({
        overflow: element.scrollHeight - element.clientHeight,
        fromEnd: element.scrollHeight - element.scrollTop - element.clientHeight,
      }));
    await expect.poll(async () => (await geometry()).fromEnd, POLL).toBeLessThan(48);
    expect((await geometry()).overflow).toBeGreaterThan(2000);
    const bottom = async (box: { y: number; height: number } | null) => (box ? box.y + box.height : Infinity);
    expect(await bottom(await articles.last().boundingBox())).toBeLessThanOrEqual(860);
    expect(await bottom(await page.locator('form.composer').boundingBox())).toBeLessThanOrEqual(860);
    await page.screenshot({ path: join(SCREENSHOTS, 'chat-long.png') });

    // Earlier messages arrive above without moving what the reader is looking at.
    await page.getByTestId('earlier').scrollIntoViewIfNeeded();
    const anchor = articles.filter({ hasText: 'question 560' });
    const before = (await anchor.boundingBox())?.y;
    await page.getByTestId('earlier').click();
    await expect.poll(() => articles.count(), POLL).toBe(80);
    expect((await anchor.boundingBox())?.y).toBeCloseTo(before ?? -1, -1);
    expect(await articles.first().textContent()).toContain('question 520');
    expect(await page.getByTestId('earlier').textContent()).toContain('520 not shown');
  });

  it('applies the parameters panel to the conversation, and clearing a field falls back to the preset', async () => {
    const id = await create('Tuned', 'test/tiny-lm');
    const page = await newPage();
    await openChat(page);
    await page.getByRole('button', { name: 'Tuned', exact: true }).click();
    await expect.poll(() => shownId(page), POLL).toBe(id);
    await page.getByRole('button', { name: 'Parameters' }).click();
    const panel = page.getByRole('form', { name: 'Chat parameters' });
    await panel.getByLabel('Temperature').fill('0.5');
    await panel.getByLabel('Max tokens').fill('3');
    await panel.getByLabel('Seed').fill('7');
    await panel.getByLabel('Stop strings').fill('x, y');
    await panel.getByRole('button', { name: 'Apply' }).click();
    const params = async () => (await detail(id)).params;
    await expect.poll(params, POLL).toEqual({ temperature: 0.5, maxTokens: 3, seed: 7, stop: ['x', 'y'] });

    await panel.getByLabel('Temperature').fill('');
    await panel.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(params, POLL).toEqual({ maxTokens: 3, seed: 7, stop: ['x', 'y'] });
  });
});
