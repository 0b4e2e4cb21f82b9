import { EventEmitter } from 'node:events';
import { utilityProcess, type UtilityProcess } from 'electron';
import type { CoreToShellMessage } from '../core/main';

/** Restarts allowed within {@link RESTART_WINDOW_MS} before the supervisor gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/** Events of {@link CoreSupervisor}. */
export interface CoreSupervisorEvents {
  listening: [url: string, dataDir: string];
  crashed: [code: number, restartInMs: number];
  gaveUp: [reason: string];
}

/**
 * Runs the headless core in an Electron utilityProcess and keeps it running: when it dies
 * unexpectedly it is started again with growing delays, up to {@link MAX_RESTARTS} times a minute.
 */
export class CoreSupervisor extends EventEmitter<CoreSupervisorEvents> {
  #child: UtilityProcess | null = null;
  #restarts: number[] = [];
  #stopping = false;
  #url: string | null = null;

  constructor(
    private readonly corePath: string,
    private readonly args: readonly string[],
  ) {
    super();
  }

  /** The core's base URL once it listens. */
  get url(): string | null {
    return this.#url;
  }

  /** Starts the core; `listening` fires when it accepts requests. */
  start(): void {
    const child = utilityProcess.fork(this.corePath, [...this.args], {
      serviceName: 'Lodge core',
      stdio: 'inherit',
    });
    this.#child = child;
    child.on('message', (message: CoreToShellMessage) => {
      if (message.type === 'listening') {
        this.#url = message.url;
        this.emit('listening', message.url, message.dataDir);
      } else {
        this.#stopping = true;
        this.emit('gaveUp', message.message);
      }
    });
    child.on('exit', (code) => {
      this.#child = null;
      if (this.#stopping) return;
      const now = Date.now();
      this.#restarts = this.#restarts.filter((time) => now - time < RESTART_WINDOW_MS);
      if (this.#restarts.length >= MAX_RESTARTS) {
        this.emit(
          'gaveUp',
          `The Lodge core stopped ${MAX_RESTARTS} times within a minute (last exit code ${code}).`,
        );
        return;
      }
      const delay = 500 * 2 ** this.#restarts.length;
      this.#restarts.push(now);
      this.emit('crashed', code, delay);
      setTimeout(() => {
        if (!this.#stopping) this.start();
      }, delay);
    });
  }

  /** Asks the core to shut down gracefully (SIGTERM) and resolves when it has exited. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill();
        resolve();
      }, timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill();
    });
  }
}
