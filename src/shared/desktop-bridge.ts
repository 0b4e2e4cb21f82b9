/**
 * What the desktop preload exposes to the renderer as `window.lodge`: the API base URL and the
 * native actions HTTP cannot do. Nothing else crosses the bridge (never `ipcRenderer` itself; docs/architecture.md, Processes).
 */
export interface DesktopBridge {
  /** The core's base URL, e.g. `http://127.0.0.1:11435`. */
  readonly apiBase: string;
  /** Opens a native dialog to pick a `.onnx` file; resolves to its path, or null if cancelled. */
  chooseModelFile(): Promise<string | null>;
  /** Opens a native dialog to pick a model folder; resolves to its path, or null if cancelled. */
  chooseModelFolder(): Promise<string | null>;
  /** Shows a file or folder inside the data directory in the system file manager. */
  revealPath(path: string): Promise<void>;
}

/** The IPC channels behind {@link DesktopBridge}. */
export const DESKTOP_CHANNELS = {
  chooseModelFile: 'lodge:choose-model-file',
  chooseModelFolder: 'lodge:choose-model-folder',
  revealPath: 'lodge:reveal-path',
} as const;

/** The command-line switch that carries the API base URL into the sandboxed preload. */
export const API_BASE_SWITCH = '--lodge-api-base=';
