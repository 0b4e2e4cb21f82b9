import Activity from '@lucide/svelte/icons/activity';
import AudioLines from '@lucide/svelte/icons/audio-lines';
import Compass from '@lucide/svelte/icons/compass';
import ImageIcon from '@lucide/svelte/icons/image';
import Library from '@lucide/svelte/icons/library';
import MessagesSquare from '@lucide/svelte/icons/messages-square';
import Server from '@lucide/svelte/icons/server';
import Settings from '@lucide/svelte/icons/settings';
import type { LucideIcon } from '@lucide/svelte';
import type { ViewId } from './router.svelte';

/** Each view's Lucide icon: the navigation and the view's own header show the same one. */
export const VIEW_ICONS: Readonly<Record<ViewId, LucideIcon>> = {
  discover: Compass,
  library: Library,
  chat: MessagesSquare,
  images: ImageIcon,
  transcribe: AudioLines,
  server: Server,
  monitor: Activity,
  settings: Settings,
};
