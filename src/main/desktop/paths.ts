import { join } from 'node:path';
import { app } from 'electron';

/** Where the built app's parts live, the same in development and in a packaged app. */
export const appFiles = {
  core: () => join(app.getAppPath(), 'out/main/core.js'),
  preload: () => join(app.getAppPath(), 'out/preload/index.cjs'),
  renderer: () => join(app.getAppPath(), 'out/renderer'),
  icon: () => join(app.getAppPath(), 'resources/icon.png'),
  trayIcon: () => join(app.getAppPath(), 'resources/tray.png'),
};
