import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { BrowserWindow, dialog, ipcMain, shell, type IpcMainInvokeEvent } from 'electron';
import { DESKTOP_CHANNELS } from '../../shared/desktop-bridge';
import { APP_HOST, APP_SCHEME } from './app-protocol';

/**
 * Handles the bridge's native actions. Every call is checked to come from the app's own page, and
 * `revealPath` only shows paths inside the data directory: the renderer is treated as untrusted.
 */
export function registerNativeDialogs(dataDir: string): () => void {
  const fromApp = (event: IpcMainInvokeEvent) =>
    event.senderFrame?.url.startsWith(`${APP_SCHEME}://${APP_HOST}/`) === true;
  const owner = (event: IpcMainInvokeEvent) => BrowserWindow.fromWebContents(event.sender) ?? undefined;

  const choose = async (event: IpcMainInvokeEvent, kind: 'file' | 'folder'): Promise<string | null> => {
    if (!fromApp(event)) return null;
    const options: Electron.OpenDialogOptions =
      kind === 'file'
        ? {
            title: 'Choose an ONNX model file',
            properties: ['openFile'],
            filters: [{ name: 'ONNX model', extensions: ['onnx'] }],
          }
        : { title: 'Choose a model folder', properties: ['openDirectory'] };
    const window = owner(event);
    const result = window
      ? await dialog.showOpenDialog(window, options)
      : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  };

  ipcMain.handle(DESKTOP_CHANNELS.chooseModelFile, (event) => choose(event, 'file'));
  ipcMain.handle(DESKTOP_CHANNELS.chooseModelFolder, (event) => choose(event, 'folder'));
  ipcMain.handle(DESKTOP_CHANNELS.revealPath, (event, path: unknown) => {
    if (!fromApp(event) || typeof path !== 'string' || !isAbsolute(path)) return;
    const inside = relative(resolve(dataDir), resolve(path));
    if (inside.startsWith('..') || isAbsolute(inside) || !existsSync(path)) return;
    shell.showItemInFolder(resolve(path));
  });
  return () => {
    for (const channel of Object.values(DESKTOP_CHANNELS)) ipcMain.removeHandler(channel);
  };
}
