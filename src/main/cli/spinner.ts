import type { Output } from './output';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A spinner on stderr while something is under way; only on a terminal, nothing otherwise. */
export class Spinner {
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly output: Output,
    private readonly isTty: boolean,
  ) {}

  /** Starts spinning, with `label` after the spinner (the frame alone when empty). */
  start(label = ''): void {
    if (!this.isTty || this.#timer) return;
    let frame = 0;
    const draw = () => {
      this.output.err(`\r\x1b[2K${FRAMES[frame % FRAMES.length] ?? ''}${label ? ` ${label}` : ''}`);
      frame += 1;
    };
    this.output.err('\x1b[?25l');
    draw();
    this.#timer = setInterval(draw, 80);
  }

  /** Stops and erases the spinner, putting the cursor back; safe to call when it is not spinning. */
  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.output.err('\r\x1b[2K\x1b[?25h');
  }
}
