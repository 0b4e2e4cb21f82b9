import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/main/core/db/connection';
import { installFixture, TINY_LM } from '../fixtures/models';
import { runCli, startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';

describe('lodge ls with a model record this Lodge cannot read', () => {
  const home = tempDir();
  let server: ServeProcess;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    // A first run registers the folder (and hashes its files in the background); a newer Lodge then
    // writes the row in a form this one does not know (its tags column has a version it has not
    // seen); this Lodge starts again on the same data directory.
    const first = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    await first.stop();
    const db = openDatabase(join(home.path, 'lodge.db'));
    db.prepare('UPDATE models SET tags = ? WHERE id = ?').run(
      JSON.stringify({ version: 3, value: ['future'] }),
      'test/tiny-lm',
    );
    db.close();
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    env = { LODGE_PORT: new URL(server.url).port };
  });
  afterAll(async () => {
    await server.stop();
    home.remove();
  });

  it('lists it as unreadable, with why, instead of as a fresh folder model', async () => {
    expect((await fetch(`${server.url}/app/models/refresh`, { method: 'POST' })).status).toBe(200);
    const { code, output } = await runCli(['ls'], env);
    expect(code, output).toBe(0);
    expect(output).toMatch(/test\/tiny-lm\s+-\s+-\s+-\s+unreadable\s/);
    expect(output).toMatch(
      /test\/tiny-lm cannot be read by this Lodge: its tags column has version 3, unknown to this Lodge\. It was left untouched\./,
    );
  });
});
