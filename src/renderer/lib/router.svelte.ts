/** The views of the app, in navigation order. */
export const VIEWS = [
  { id: 'discover', label: 'Discover', hint: 'Find and download models' },
  { id: 'library', label: 'Library', hint: 'Your models' },
  { id: 'chat', label: 'Chat', hint: 'Talk to a model' },
  { id: 'images', label: 'Images', hint: 'Generate images' },
  { id: 'transcribe', label: 'Transcribe', hint: 'Speech to text' },
  { id: 'server', label: 'Server', hint: 'The local API' },
  { id: 'monitor', label: 'Monitor', hint: 'Live metrics and logs' },
  { id: 'settings', label: 'Settings', hint: 'Preferences' },
] as const;

/** One view's id. */
export type ViewId = (typeof VIEWS)[number]['id'];

function fromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '');
  return VIEWS.find((view) => view.id === id)?.id ?? 'chat';
}

/** Hash-based navigation (`#/library`), so reloads and the back button work in both shells. */
export class Router {
  #current = $state<ViewId>(fromHash(location.hash));

  constructor() {
    addEventListener('hashchange', () => (this.#current = fromHash(location.hash)));
  }

  /** The view on screen. */
  get current(): ViewId {
    return this.#current;
  }

  /** Shows `view` and records it in the history. */
  go(view: ViewId): void {
    location.hash = `/${view}`;
  }
}
