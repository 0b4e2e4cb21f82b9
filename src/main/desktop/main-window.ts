import { BrowserWindow, shell } from 'electron';
import { API_BASE_SWITCH } from '../../shared/desktop-bridge';
import { APP_HOST, APP_SCHEME } from './app-protocol';
import { appFiles } from './paths';

/**
 * The one app window, locked down: context isolation, sandbox, no Node in the renderer, no
 * navigation away from `app://lodge`, and no new windows (http links open in the browser instead).
 */
export function createMainWindow(apiBase: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Lodge',
    icon: appFiles.icon(),
    webPreferences: {
      preload: appFiles.preload(),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
      additionalArguments: [`${API_BASE_SWITCH}${apiBase}`],
    },
  });
  window.once('ready-to-show', () => window.show());
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//i.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${APP_SCHEME}://${APP_HOST}/`)) event.preventDefault();
  });
  window.webContents.session.setPermissionRequestHandler((_contents, _permission, callback) =>
    callback(false),
  );
  void window.loadURL(`${APP_SCHEME}://${APP_HOST}/index.html`);
  return window;
}
