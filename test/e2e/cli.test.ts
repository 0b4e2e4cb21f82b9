import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';

const running: ServeProcess[] = [];
const dirs: ReturnType<typeof tempDir>[] = [];
function dataDir() {
  const dir = tempDir();
  dirs.push(dir);
  return dir.path;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
  for (const dir of dirs.splice(0)) dir.remove();
});

describe('lodge CLI', () => {
  it('prints its version and help', async () => {
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.output.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('lodge serve');
    expect(help.output).toContain('LODGE_API_KEY');
  });

  it('lists every verb in --help, each list in aligned columns', async () => {
    const { output } = await runCli(['--help']);
    for (const verb of ['serve', 'ls', 'ps', 'pull', 'import', 'rm', 'run', 'key', '--version', '--help'])
      expect(output).toMatch(new RegExp(`^  lodge ${verb}\\b`, 'm'));
    // Within each block of option or command lines, the second column starts at one place.
    const blocks = output
      .split('\n\n')
      .map((block) => block.split('\n').filter((line) => line.startsWith('  ')));
    const column = (line: string) => /^ {2}\S+(?: \S+)*? {2,}/.exec(line)?.[0].length;
    const aligned = blocks.filter((lines) => lines.length > 1);
    expect(aligned.length).toBeGreaterThanOrEqual(4);
    for (const lines of aligned) expect(new Set(lines.map(column)).size, lines.join('\n')).toBe(1);
    // The serve options' environment variables line up as a third column.
    const envColumns = output
      .split('\n')
      .filter((line) => /env LODGE_/.test(line))
      .map((line) => line.indexOf('env LODGE_'));
    expect(envColumns.length).toBe(6);
    expect(new Set(envColumns).size).toBe(1);
  });

  it('pull: reports an unreachable hub and exits, closing its event stream', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const server = await startServeProcess(['--port', '0', '--data-dir', dataDir()], {
      HF_ENDPOINT: `http://127.0.0.1:${port}`,
    });
    running.push(server);
    // Were the event stream left open, the process would outlive this test's timeout.
    const pulled = await runCli(['pull', 'acme/anything'], { LODGE_PORT: new URL(server.url).port });
    expect(pulled.code).toBe(1);
    expect(pulled.output).toMatch(/Cannot reach the Hugging Face hub/);
    expect(pulled.output).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown command and an unknown flag with exit code 2', async () => {
    expect(await runCli(['frobnicate'])).toMatchObject({
      code: 2,
      output: expect.stringMatching(/Unknown command/),
    });
    expect(await runCli(['serve', '--frob'])).toMatchObject({
      code: 2,
      output: expect.stringMatching(/--frob/),
    });
  });

  it('serve: prints the listening line once it accepts requests, then answers /health', async () => {
    const server = await startServeProcess(['--port', '0', '--data-dir', dataDir()]);
    running.push(server);
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('serve: takes its settings from the environment', async () => {
    const home = dataDir();
    const server = await startServeProcess([], {
      LODGE_PORT: '0',
      LODGE_HOME: home,
      LODGE_API_KEY: 'env-key-123456',
    });
    running.push(server);
    expect((await fetch(`${server.url}/app/info`)).status).toBe(401);
    const info = await fetch(`${server.url}/app/info`, {
      headers: { authorization: 'Bearer env-key-123456' },
    });
    expect(await info.json()).toMatchObject({ dataDir: home, authRequired: true });
  });

  it('serve: refuses to bind beyond loopback without an API key, saying why', async () => {
    const result = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir()]);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/Refusing to listen on 0\.0\.0\.0 without an API key/);
  });

  it('serve: says so when the port is taken', async () => {
    const first = await startServeProcess(['--port', '0', '--data-dir', dataDir()]);
    running.push(first);
    const port = new URL(first.url).port;
    const second = await runCli(['serve', '--port', port, '--data-dir', dataDir()]);
    expect(second.code).toBe(2);
    expect(second.output).toMatch(new RegExp(`Port ${port} .* already in use`));
  });

  it('serve: shuts down gracefully on SIGTERM, closing the database', async () => {
    const home = dataDir();
    const server = await startServeProcess(['--port', '0', '--data-dir', home]);
    await fetch(`${server.url}/v1/models`);
    expect(existsSync(join(home, 'lodge.db-wal'))).toBe(true);
    expect(await server.stop('SIGTERM')).toBe(0);
    // better-sqlite3 checkpoints and removes the WAL file when the last connection closes cleanly.
    expect(existsSync(join(home, 'lodge.db-wal'))).toBe(false);
    expect(readFileSync(join(home, 'logs/lodge.log'), 'utf8')).toContain('shutting down');
  });
});
