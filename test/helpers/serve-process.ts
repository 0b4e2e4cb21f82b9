import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

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
