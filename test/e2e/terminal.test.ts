import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_LM, WIDE_LM } from '../fixtures/models';
import { runInTerminal, startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';

const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
/** The answer's first text: written over the spinner's line, after a carriage return. */
const ANSWER = /\r[^\r\n⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

interface Inference {
  model: string;
  promptTokens: number;
  completionTokens: number;
  outcome: string;
}

describe('lodge run in a terminal, as ollama run behaves', () => {
  const home = tempDir();
  let server: ServeProcess;
  let env: NodeJS.ProcessEnv;
  /** What the server recorded, oldest first. */
  const inferences = async (): Promise<Inference[]> => {
    const body = (await (await fetch(`${server.url}/app/inferences`)).json()) as { inferences: Inference[] };
    return body.inferences.reverse();
  };
  beforeAll(async () => {
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    installFixture(WIDE_LM, join(home.path, 'models'), 'test/wide-lm');
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    env = { LODGE_PORT: new URL(server.url).port };
    // Short answers from the tiny model, so a few turns fit its context; the wide one writes on.
    await fetch(`${server.url}/app/models/test/tiny-lm`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ preset: { maxTokens: 20 } }),
    });
  });
  afterAll(async () => {
    await server.stop();
    home.remove();
  });

  it('Ctrl+C at an empty prompt says how to quit; Ctrl+D quits with the shell prompt on its own line', async () => {
    // A bare name, resolved as the server resolves it.
    const before = (await inferences()).length;
    const terminal = runInTerminal(['run', 'tiny-lm'], env);
    let mark = await terminal.waitFor(/>>> /);
    // Ctrl+C with something typed drops it: the Enter after it sends nothing.
    terminal.type('never sent');
    mark = await terminal.waitFor(/never sent/, mark);
    terminal.type('\x03');
    mark = await terminal.waitFor(/\^C\n>>> /, mark);
    terminal.type('\r');
    mark = await terminal.waitFor(/\n>>> /, mark);
    terminal.type('\x03');
    mark = await terminal.waitFor(/\^?C?\nUse Ctrl \+ d or \/bye to exit\.\n>>> /, mark);
    terminal.type('\x04');
    expect(await terminal.exited).toBe(0);
    expect(terminal.screen().slice(mark)).toBe('\n');
    expect((await inferences()).length).toBe(before);
  });

  it('lists its commands for /? and /help, and /set parameter, /clear and /show work for real', async () => {
    const before = (await inferences()).length;
    const terminal = runInTerminal(['run', 'test/tiny-lm'], env);
    let mark = await terminal.waitFor(/>>> /);
    for (const help of ['/?', '/help']) {
      terminal.type(`${help}\r`);
      mark = await terminal.waitFor(
        /\/set parameter <name> <value>[\s\S]*\/show info[\s\S]*\/clear[\s\S]*\/bye[\s\S]*>>> /,
        mark,
      );
    }
    // Greedy decoding, so every answer is the same length whatever the load.
    terminal.type('/set parameter temperature 0\r');
    mark = await terminal.waitFor(/Set parameter 'temperature' to '0'\.\n>>> /, mark);
    const ask = async () => {
      terminal.type('Hello\r');
      mark = await terminal.waitFor(/Hello\n[\s\S]*\n>>> /, mark);
    };
    await ask();
    await ask();
    terminal.type('/clear\r');
    mark = await terminal.waitFor(/Cleared the conversation context\.\n>>> /, mark);
    terminal.type('/set parameter num_predict 2\r');
    mark = await terminal.waitFor(/Set parameter 'num_predict' to '2'\.\n>>> /, mark);
    await ask();
    terminal.type('/show info\r');
    mark = await terminal.waitFor(
      /model\s+test\/tiny-lm[\s\S]*task\s+text-generation[\s\S]*context length\s+2048/,
      mark,
    );
    terminal.type('/bye\r');
    expect(await terminal.exited).toBe(0);

    // The commands never went to the model: three turns reached it, no more.
    await expect.poll(async () => (await inferences()).length).toBe(before + 3);
    const [first, second, afterClear] = (await inferences())
      .slice(before)
      .map(({ promptTokens, completionTokens }) => ({ promptTokens, completionTokens }));
    if (!first || !second || !afterClear) throw new Error('three turns were recorded, yet not found');
    // The second turn carried the first as context; after /clear the context was empty again.
    expect(second.promptTokens).toBeGreaterThan(first.promptTokens);
    expect(afterClear.promptTokens).toBe(first.promptTokens);
    // num_predict 2 capped the answer after it was set, and not before.
    expect(first.completionTokens).toBeGreaterThan(2);
    expect(afterClear.completionTokens).toBeLessThanOrEqual(2);
  });

  it('spins while the model loads and the answer starts; Ctrl+C stops the answer and returns to the prompt', async () => {
    const terminal = runInTerminal(['run', 'test/wide-lm'], env);
    let mark = await terminal.waitFor(new RegExp(`${SPINNER.source} loading test/wide-lm`));
    mark = await terminal.waitFor(/>>> /, mark);
    const before = (await inferences()).length;
    terminal.type('Tell me a long story\r');
    mark = await terminal.waitFor(/Tell me a long story\n/, mark);
    // The spinner until the first token, then the answer over it.
    mark = await terminal.waitFor(SPINNER, mark);
    mark = await terminal.waitFor(ANSWER, mark);
    terminal.type('\x03');
    await terminal.waitFor(/\n>>> /, mark);
    await expect
      .poll(async () => (await inferences()).slice(before).map((record) => record.outcome))
      .toEqual(['cancelled']);
    // Still chatting: the session reads the next line.
    terminal.type('/bye\r');
    expect(await terminal.exited).toBe(0);
  });

  it('Ctrl+C stops a one-prompt answer: exit 130, the cursor shown again, the answer cancelled', async () => {
    const before = (await inferences()).length;
    const terminal = runInTerminal(['run', 'test/wide-lm', 'Tell me a long story'], env);
    await terminal.waitFor(ANSWER);
    terminal.type('\x03');
    expect(await terminal.exited).toBe(130);
    expect(terminal.screen()).toMatch(/\nStopped\.\n$/);
    const raw = terminal.raw();
    expect(raw.lastIndexOf('\x1b[?25h')).toBeGreaterThan(raw.lastIndexOf('\x1b[?25l'));
    await expect
      .poll(async () => (await inferences()).slice(before).map((record) => record.outcome))
      .toEqual(['cancelled']);
  });

  it('reports a turn the server refuses and keeps the chat going', async () => {
    const terminal = runInTerminal(['run', 'test/tiny-lm'], env);
    let mark = await terminal.waitFor(/>>> /);
    terminal.type('/set parameter num_ctx 4\r');
    mark = await terminal.waitFor(/>>> /, mark);
    terminal.type('This prompt is longer than four tokens, surely\r');
    mark = await terminal.waitFor(/\rError: [^\n]+\n>>> /, mark);
    terminal.type('/set parameter num_ctx 2048\r');
    mark = await terminal.waitFor(/>>> /, mark);
    terminal.type('Hello\r');
    await terminal.waitFor(/Hello\n[\s\S]*\n>>> /, mark);
    terminal.type('\x04');
    expect(await terminal.exited).toBe(0);
  });
});
