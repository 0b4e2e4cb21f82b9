import type { Browser, BrowserContext, Page } from 'playwright-core';

/**
 * How long a poll in the window tests waits: a loaded two-core machine runs the core, its runners
 * and Chromium at once, so a step can take seconds (the 1 s default made green tests red there).
 */
export const POLL = { timeout: 30_000 } as const;

/** A page in a fresh browser context (its own localStorage), closed with its context. */
export interface FreshPage {
  readonly page: Page;
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Opens a page with nothing remembered from another test; the clipboard is readable. */
export async function freshPage(
  browser: Browser,
  viewport: { width: number; height: number } = { width: 1280, height: 860 },
): Promise<FreshPage> {
  const context = await browser.newContext({ viewport, permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  return { page, context, close: () => context.close() };
}

/** JSON from the core's /app API, or a thrown error naming the status. */
export async function appJson<T>(base: string, path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  });
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${response.status}`);
  return (await response.json()) as T;
}
