// The desktop preload: runs sandboxed, exposes exactly the DesktopBridge, nothing more.
import { contextBridge, ipcRenderer } from 'electron';
import { API_BASE_SWITCH, DESKTOP_CHANNELS, type DesktopBridge } from '../shared/desktop-bridge';

const apiBase =
  process.argv.find((arg) => arg.startsWith(API_BASE_SWITCH))?.slice(API_BASE_SWITCH.length) ?? '';

const bridge: DesktopBridge = {
  apiBase,
  chooseModelFile: () => ipcRenderer.invoke(DESKTOP_CHANNELS.chooseModelFile) as Promise<string | null>,
  chooseModelFolder: () => ipcRenderer.invoke(DESKTOP_CHANNELS.chooseModelFolder) as Promise<string | null>,
  revealPath: (path: string) =>
    ipcRenderer.invoke(DESKTOP_CHANNELS.revealPath, String(path)) as Promise<void>,
};

contextBridge.exposeInMainWorld('lodge', bridge);
