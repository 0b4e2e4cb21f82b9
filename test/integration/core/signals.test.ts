import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT_CLI } from '../../helpers/serve-process';
import { tempDir } from '../../helpers/temp-dir';

const START = join(import.meta.dirname, '../../../scripts/start.mjs');

/** A process started as the leader of its own process group, as a terminal starts `npm start`. */
interface Group {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startGroup(args: string[]): Promise<Group> {
  const home = tempDir();
  cleanups.push(home.remove);
  // No display: `npm start` serves the web UI headless, as on a server or in CI.
  const child = spawn(process.execPath, [...args, '--port', '0', '--data-dir', home.path], {
    detached: true,
    env: { PATH: process.env.PATH, HOME: home.path },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(-child.pid, 'SIGKILL');
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /^Lodge listening on (http:\/\/\S+)$/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    void exited.then(([code]) => reject(new Error(`exited with ${code} before listening:\n${stderr}`)));
  });
  return { child, url, stderr: () => stderr, exited };
}

const cleanups: (() => void)[] = [];

describe('one Ctrl+C is one clean shutdown', () => {
  afterAll(() => {
    for (const cleanup of cleanups.reverse()) cleanup();
  });

  it('npm start: SIGINT to the whole process group (what Ctrl+C does) exits 0 with nothing on stderr', async () => {
    const group = await startGroup([START]);
    // An open live-event stream (the window's) must not hold the shutdown up.
    const events = await fetch(`${group.url}/app/events`);
    const reader = events.body?.getReader();
    await reader?.read();
    process.kill(-(group.child.pid as number), 'SIGINT');
    const [code] = await group.exited;
    expect(group.stderr()).not.toMatch(/Error|SonicBoom|\bat /);
    expect(code).toBe(0);
    // The live-event stream ended cleanly rather than being left open.
    for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read());
  });

  it('lodge serve: the same signal delivered twice at once shuts down once, exit 0', async () => {
    const group = await startGroup([BUILT_CLI, 'serve']);
    const pid = group.child.pid as number;
    process.kill(-pid, 'SIGINT');
    process.kill(pid, 'SIGINT');
    const [code, signal] = await group.exited;
    expect(group.stderr()).not.toMatch(/Error|SonicBoom|\bat /);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
