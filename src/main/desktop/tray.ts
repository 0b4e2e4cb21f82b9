import { clipboard, Menu, nativeImage, Tray } from 'electron';
import { appFiles } from './paths';

/** The tray and a function that rebuilds its menu when the server address changes. */
export interface LodgeTray {
  readonly tray: Tray;
  refresh(): void;
}

/** The tray icon and its menu: open the window, see and copy the server address, quit. */
export function createTray(actions: {
  open: () => void;
  quit: () => void;
  address: () => string | null;
}): LodgeTray {
  const tray = new Tray(nativeImage.createFromPath(appFiles.trayIcon()));
  tray.setToolTip('Lodge');
  const rebuild = () => {
    const address = actions.address();
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: 'Open Lodge', click: actions.open },
        {
          label: address ? `Server: ${address}` : 'Server: starting…',
          enabled: address !== null,
          toolTip: 'Click to copy',
          click: () => address && clipboard.writeText(address),
        },
        { type: 'separator' },
        { label: 'Quit Lodge', click: actions.quit },
      ]),
    );
  };
  rebuild();
  tray.on('click', actions.open);
  return { tray, refresh: rebuild };
}
