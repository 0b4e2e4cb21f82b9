import type { BrowserWindow } from 'electron';
import { app, dialog } from 'electron';
import { handleAppProtocol, registerAppScheme } from './app-protocol';
import { CoreSupervisor } from './core-supervisor';
import { createMainWindow } from './main-window';
import { registerNativeDialogs } from './native-dialogs';
import { appFiles } from './paths';
import { createTray, type LodgeTray } from './tray';

/**
 * The desktop app: one instance, the core supervised in a utilityProcess, one window over
 * `app://lodge`, and a tray that keeps Lodge serving when the window is closed.
 */
export function runDesktopShell(coreArgs: readonly string[]): void {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  registerAppScheme();

  const core = new CoreSupervisor(appFiles.core(), coreArgs);
  let window: BrowserWindow | null = null;
  let tray: LodgeTray | null = null;
  let dialogsRegistered = false;
  let coreStopped = false;

  const open = () => {
    const url = core.url;
    if (url === null) return;
    if (window === null || window.isDestroyed()) {
      window = createMainWindow(url);
      window.on('closed', () => (window = null));
    } else {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  };
  const quit = () => app.quit();

  app.on('second-instance', open);
  app.on('activate', open);
  // Closing the window keeps the server running in the tray, as Ollama and LM Studio do.
  app.on('window-all-closed', () => undefined);
  // Quitting waits for the core's graceful shutdown, so in-flight work and the database close cleanly.
  app.on('before-quit', (event) => {
    if (coreStopped) return;
    event.preventDefault();
    void core.stop().then(() => {
      coreStopped = true;
      app.exit(0);
    });
  });

  core.on('listening', (_url, dataDir) => {
    tray?.refresh();
    if (!dialogsRegistered) {
      dialogsRegistered = true;
      registerNativeDialogs(dataDir);
    }
    open();
  });
  core.on('gaveUp', (reason) => {
    dialog.showErrorBox('Lodge could not start its server', reason);
    quit();
  });

  void app.whenReady().then(() => {
    handleAppProtocol(appFiles.renderer(), () => core.url ?? 'http://127.0.0.1');
    tray = createTray({ open, quit, address: () => core.url });
    core.start();
  });
}
