// Electron entry: wires the desktop shell and nothing else. The core runs in its own process.
import { runDesktopShell } from './desktop/shell';

runDesktopShell(process.argv.slice(process.defaultApp ? 2 : 1).filter((arg) => arg.startsWith('--')));
