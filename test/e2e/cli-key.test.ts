import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';

const running: ServeProcess[] = [];
const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
  for (const dir of dirs.splice(0)) dir.remove();
});

async function serve(env: NodeJS.ProcessEnv = {}) {
  const home = tempDir();
  dirs.push(home);
  const server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path, ...env });
  running.push(server);
  return { server, env: { LODGE_PORT: new URL(server.url).port, LODGE_HOME: home.path } };
}

const infoStatus = async (url: string, key?: string) =>
  (await fetch(`${url}/app/info`, key ? { headers: { authorization: `Bearer ${key}` } } : {})).status;

describe('lodge key', () => {
  it('generates a key the server then requires, shows it only when asked, and removes it', async () => {
    const { server, env } = await serve();
    expect(await runCli(['key'], env)).toMatchObject({
      code: 0,
      output: expect.stringMatching(/No API key is stored in .*lodge key --generate" makes one/),
    });
    expect(await runCli(['key', '--show'], env)).toMatchObject({ code: 1 });

    const generated = await runCli(['key', '--generate'], env);
    expect(generated.code, generated.output).toBe(0);
    const key = /lodge-[0-9a-f]{48}/.exec(generated.output)?.[0];
    expect(key).toBeDefined();
    // The running server enforces it at once.
    expect(await infoStatus(server.url)).toBe(401);
    expect(await infoStatus(server.url, key)).toBe(200);

    // Shown in full only on request; the status line hides it.
    const status = await runCli(['key'], env);
    expect(status.output).toMatch(/An API key is set/);
    expect(status.output).not.toContain(key);
    expect(await runCli(['key', '--show'], env)).toEqual({ code: 0, output: `${key}\n` });
    // The other verbs use the stored key without LODGE_API_KEY.
    expect((await runCli(['ls'], env)).code).toBe(0);

    expect(await runCli(['key', '--remove'], env)).toMatchObject({
      code: 0,
      output: expect.stringMatching(/The API key was removed/),
    });
    expect(await infoStatus(server.url)).toBe(200);
  });

  it('refuses to change a key the server takes from LODGE_API_KEY, saying where to change it', async () => {
    const { server, env } = await serve({ LODGE_API_KEY: 'env-key-123456' });
    const refused = await runCli(['key', '--generate'], { ...env, LODGE_API_KEY: 'env-key-123456' });
    expect(refused).toMatchObject({ code: 1, output: expect.stringMatching(/from LODGE_API_KEY/) });
    expect(await infoStatus(server.url, 'env-key-123456')).toBe(200);
  });

  it('takes one action at a time', async () => {
    expect(await runCli(['key', '--generate', '--remove'])).toMatchObject({
      code: 1,
      output: expect.stringMatching(/one of --show, --generate or --remove/),
    });
  });
});
