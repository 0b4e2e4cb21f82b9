import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** The Chromium the e2e tests drive: Debian's, or another named by LODGE_CHROMIUM. */
export const CHROMIUM_PATH = process.env.LODGE_CHROMIUM ?? '/usr/bin/chromium';

/** Launches headless Chromium with the flags this offline machine needs. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set LODGE_CHROMIUM to its path.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
