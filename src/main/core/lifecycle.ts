/** Something that must be released: a connection, a server, a timer, a subscription. */
export type Disposer = () => void | Promise<void>;

/**
 * Releases what was acquired, in reverse order (VS Code's DisposableStore). Every failure is
 * reported to `onError` and the rest still run, so one stuck resource cannot keep the others open.
 */
export class DisposableStack {
  readonly #disposers: Disposer[] = [];
  #disposed = false;

  /** Adds a disposer to run on {@link dispose}. */
  add(disposer: Disposer): void {
    if (this.#disposed) throw new Error('Cannot add to a DisposableStack that was already disposed.');
    this.#disposers.push(disposer);
  }

  /** Runs the disposers newest first; a second call does nothing. */
  async dispose(onError: (error: unknown) => void): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const disposer of this.#disposers.reverse()) {
      try {
        await disposer();
      } catch (error) {
        onError(error);
      }
    }
  }
}
