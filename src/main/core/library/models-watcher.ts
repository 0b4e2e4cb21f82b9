import { existsSync, lstatSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging/logger';

/** How long the models folder must stay quiet after a change before the library is reconciled. */
export const WATCH_DEBOUNCE_MS = 500;

/**
 * Depth of the folders watched below models/: models/ itself (owners come and go),
 * models/<owner>/ (models dropped in), models/<owner>/<name>/ (files copied in or deleted) and
 * the folders in a model's (the `onnx/` of a Hugging Face layout).
 */
const WATCH_DEPTH = 3;

/** The most folders watched at once; a folder holding thousands of subfolders is no model. */
const MAX_WATCHED = 1024;

/**
 * Watches the models folder so that a model folder dropped in (or deleted) shows up without a
 * restart. Recursive watching is missing or costly on some platforms, so each folder down to a
 * model's own is watched on its own, and the set is brought up to date after every change. Changes
 * are debounced: a folder still being copied is reconciled once it has been quiet a moment. Where
 * the platform cannot watch at all, it says so once; the Rescan action still works.
 */
export class ModelsWatcher {
  readonly #watchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | null = null;
  #disposed = false;
  #warned = false;

  constructor(
    private readonly modelsDir: string,
    private readonly onChange: () => void,
    private readonly logger: Logger,
    private readonly debounceMs = WATCH_DEBOUNCE_MS,
  ) {}

  /** Starts watching; the watchers do not keep the process alive. */
  start(): void {
    this.#sync();
  }

  /** How many folders are watched now. */
  get watched(): number {
    return this.#watchers.size;
  }

  /** Stops watching and drops a reconciliation still waiting. */
  dispose(): void {
    this.#disposed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  #changed(): void {
    if (this.#disposed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#disposed) return;
      this.#sync();
      try {
        this.onChange();
      } catch (error) {
        this.logger.warn({ err: error }, 'could not reconcile the model library after a change in models/');
      }
    }, this.debounceMs);
    this.#timer.unref();
  }

  /** Watches every folder down to {@link WATCH_DEPTH} that is not yet watched; forgets those gone. */
  #sync(): void {
    const wanted = new Set(this.#folders(this.modelsDir, 0));
    for (const [dir, watcher] of this.#watchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      this.#watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (this.#watchers.has(dir)) continue;
      if (this.#watchers.size >= MAX_WATCHED) {
        this.#warnOnce(
          { dir, limit: MAX_WATCHED },
          `models/ holds more than ${MAX_WATCHED} folders: the rest are not watched; Rescan finds what changes there`,
        );
        return;
      }
      this.#watch(dir);
    }
  }

  #warnOnce(context: object, message: string): void {
    if (!this.#warned) this.logger.warn(context, message);
    this.#warned = true;
  }

  #watch(dir: string): void {
    try {
      const watcher = watch(dir, { persistent: false }, () => this.#changed());
      // A watched folder that is deleted ends its watcher with an error on some platforms.
      watcher.on('error', () => {
        watcher.close();
        this.#watchers.delete(dir);
        this.#changed();
      });
      this.#watchers.set(dir, watcher);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Gone between listing and watching: the next change brings the set up to date.
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      this.#warnOnce(
        { err: error, dir },
        'cannot watch the models folder: folders dropped in appear after a Rescan or a restart',
      );
    }
  }

  /** `dir` and the folders below it down to {@link WATCH_DEPTH}; symlinks and hidden names are not followed. */
  #folders(dir: string, depth: number): string[] {
    if (!existsSync(dir)) return [];
    const found = [dir];
    if (depth >= WATCH_DEPTH) return found;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return found;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const child = join(dir, name);
      try {
        if (lstatSync(child).isDirectory()) found.push(...this.#folders(child, depth + 1));
      } catch {
        // Gone while listing.
      }
    }
    return found;
  }
}
