import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../fixtures/fake-hub';
import { fixturePath, TINY_EMBEDDER } from '../fixtures/models';
import { runCli, startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';

describe('lodge pull, ls --all and rm with model revisions', () => {
  const home = tempDir();
  const repos = tempDir('lodge-cli-revisions-');
  let hub: FakeHub;
  let server: ServeProcess;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    hub = await FakeHub.start([{ id: 'acme/moving', dir: fixturePath(TINY_EMBEDDER) }]);
    server = await startServeProcess(['--port', '0'], {
      LODGE_HOME: home.path,
      HF_ENDPOINT: hub.url,
      LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl,
    });
    env = { LODGE_PORT: new URL(server.url).port };
  });
  afterAll(async () => {
    await server.stop();
    await hub.close();
    home.remove();
    repos.remove();
  });

  it('pulls a newer commit beside the first, lists both, and deletes the old one', async () => {
    const first = hub.head('acme/moving').slice(0, 7);
    const pulled = await runCli(['pull', 'acme/moving'], env);
    expect(pulled, pulled.output).toMatchObject({ code: 0 });
    expect(pulled.output).toContain(`pulled acme/moving: revision ${first}`);

    const next = join(repos.path, 'next');
    cpSync(fixturePath(TINY_EMBEDDER), next, {
      recursive: true,
      filter: (path) => !path.endsWith('.complete'),
    });
    writeFileSync(join(next, 'config.json.note'), 'a second commit');
    const second = hub.commit('acme/moving', next).slice(0, 7);
    const again = await runCli(['pull', 'acme/moving'], env);
    expect(again, again.output).toMatchObject({ code: 0 });
    expect(again.output).toContain(`pulled acme/moving: new revision ${second} kept beside ${first}`);

    const all = await runCli(['ls', '--all'], env);
    expect(all.code).toBe(0);
    expect(all.output).toMatch(/^NAME\s+TASK\s+STATE\s+SIZE\s+ADDED\n/);
    expect(all.output).toMatch(new RegExp(`acme/moving@${first}\\s+embeddings\\s+-\\s+\\d+ KB`));
    expect(all.output).toMatch(new RegExp(`acme/moving@${second}\\s+embeddings\\s+active\\s+\\d+ KB`));
    // The plain list still shows one model.
    expect((await runCli(['ls'], env)).output.match(/acme\/moving/g)).toHaveLength(1);

    const active = await runCli(['rm', `acme/moving@${second}`], env);
    expect(active.code).not.toBe(0);
    expect(active.output).toMatch(/activate another revision first/);
    const removed = await runCli(['rm', `acme/moving@${first}`], env);
    expect(removed, removed.output).toMatchObject({ code: 0 });
    expect(removed.output).toContain(`deleted revision ${first} of acme/moving; 1 kept`);
    expect((await runCli(['ls', '--all'], env)).output).not.toContain(`@${first}`);
  });
});
