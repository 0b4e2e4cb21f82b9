/** How a toast looks: what kind of news it brings. */
export type ToastTone = 'info' | 'success' | 'danger' | 'progress';

/** One message about background work. */
export interface Toast {
  /** Stable per subject (`download:<id>`), so that news about one thing replaces its last toast. */
  readonly key: string;
  readonly tone: ToastTone;
  readonly title: string;
  readonly detail: string | null;
}

/** How long a toast stays, by tone (progress stays until its outcome replaces it). */
const LIFETIME_MS: Record<ToastTone, number | null> = {
  info: 5000,
  success: 5000,
  danger: 10000,
  progress: null,
};

/** The most toasts on screen at once; older ones go first. */
const MOST = 3;

/** The toasts on screen, newest last; each leaves by itself after its tone's lifetime. */
export class Toasts {
  #items = $state.raw<Toast[]>([]);
  // Bookkeeping the page never renders: a plain map, not reactive state.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();

  /** The toasts on screen, oldest first. */
  get items(): readonly Toast[] {
    return this.#items;
  }

  /** Shows `toast`, replacing the one with the same key. */
  show(toast: Toast): void {
    this.#items = [...this.#items.filter((item) => item.key !== toast.key), toast].slice(-MOST);
    clearTimeout(this.#timers.get(toast.key));
    this.#timers.delete(toast.key);
    const lifetime = LIFETIME_MS[toast.tone];
    if (lifetime !== null)
      this.#timers.set(
        toast.key,
        setTimeout(() => this.dismiss(toast.key), lifetime),
      );
  }

  /** Takes the toast with `key` off the screen. */
  dismiss(key: string): void {
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
    this.#items = this.#items.filter((item) => item.key !== key);
  }
}
