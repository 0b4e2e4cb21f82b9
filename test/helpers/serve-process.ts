import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { onTestFailed, onTestFinished } from 'vitest';

/** The built CLI (`npm run build` first; the e2e script does). */
export const BUILT_CLI = join(import.meta.dirname, '../../out/main/cli.js');

/** A `lodge serve` process: its URL, everything it printed, and how to stop it. */
export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Sends `signal` and resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the built CLI with `args` under this Node, `input` on its stdin; resolves with its exit code and output. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  /** What to type on standard input; it is closed after that either way. */
  input = '',
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BUILT_CLI, ...args], { env: { PATH: process.env.PATH, ...env } });
  child.stdin.end(input);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

/**
 * Starts `lodge serve` as a real process and resolves once it printed its listening line; rejects
 * with its output if it exits first.
 */
export async function startServeProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BUILT_CLI, 'serve', ...args], {
    env: { PATH: process.env.PATH, ...env },
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      output += `${line}\n`;
      const match = /^Lodge listening on (http:\/\/\S+)$/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) =>
      reject(new Error(`lodge serve exited with ${code} before listening:\n${output}`)),
    );
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  return {
    url,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}

/** Quotes one word for `sh`. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A program running in a real pseudo-terminal: what it printed, and keys to type at it. */
export interface TerminalProcess {
  /** Everything the terminal showed so far, escape sequences removed and line ends as `\n`. */
  readonly screen: () => string;
  /** Everything the terminal was sent, escape sequences and all. */
  readonly raw: () => string;
  /** Types `keys` (`\x03` is Ctrl+C, `\x04` Ctrl+D, `\r` Enter) as a user would. */
  type(keys: string): void;
  /**
   * Resolves once the screen, from character `from` on, matches `pattern`, with the index just past
   * the match; rejects with the screen if the program exits first.
   */
  waitFor(pattern: RegExp, from?: number): Promise<number>;
  /** Resolves with the exit code once the program has exited. */
  readonly exited: Promise<number | null>;
}

/**
 * Runs the built CLI with `args` in a real pseudo-terminal, 100 columns by 30 rows, through
 * util-linux `script` (in every Debian, CI included): its stdin and stdout are a TTY, Ctrl+C is a
 * key the line discipline or readline sees, and output is what a user's terminal would show.
 */
export function runInTerminal(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  /** What runs `lodge`: this Node on the built CLI, unless a test means another launcher. */
  program: readonly string[] = [process.execPath, BUILT_CLI],
): TerminalProcess {
  const command = `stty cols 100 rows 30 && exec ${[...program, ...args].map(shellQuote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, TERM: 'xterm-256color', ...env },
  });
  let screen = '';
  const waiters = new Set<() => void>();
  const clean = (text: string) =>
    text
      // eslint-disable-next-line no-control-regex -- terminal escape sequences are what is removed
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .replace(/\r+\n/g, '\n');
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  // NOTE: 'close', not 'exit': by then everything the program printed has been read.
  let closed = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      closed = true;
      child.stdin.destroy();
      for (const wake of waiters) wake();
      resolve(code);
    }),
  );
  // What the terminal showed is the first thing to read when a test of it fails; and a program
  // left running by a failed test is stopped with it.
  onTestFailed(() => console.error(`The terminal showed:\n${clean(screen)}`));
  onTestFinished(() => {
    if (!closed) child.kill('SIGKILL');
  });
  return {
    screen: () => clean(screen),
    raw: () => screen,
    type: (keys) => child.stdin.write(keys),
    exited,
    waitFor(pattern, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const text = clean(screen).slice(from);
          const match = pattern.exec(text);
          if (match) {
            waiters.delete(check);
            resolve(from + match.index + match[0].length);
          } else if (closed) {
            waiters.delete(check);
            reject(
              new Error(`exited with ${child.exitCode} before ${pattern}; the screen:\n${clean(screen)}`),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
