import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const SECRET = 'root:x:0:0:TOP-SECRET-CONTENT';

describe('model folders that lead outside themselves', () => {
  let core: TestCore;
  const outside = tempDir('lodge-outside-');
  const secret = join(outside.path, 'secret.txt');
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${core.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    // No answer ever carries the linked file's content or a path outside the request's own.
    expect(text).not.toContain('TOP-SECRET');
    expect(text).not.toContain(secret);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  };
  /** A copy of the tiny LM whose `name` is a symlink to `target`. */
  const withLink = (folder: string, name: string, target: string) => {
    const dir = join(outside.path, folder);
    cpSync(fixturePath(TINY_LM), dir, { recursive: true });
    rmSync(join(dir, name), { force: true });
    symlinkSync(target, join(dir, name));
    return dir;
  };

  beforeAll(async () => {
    writeFileSync(secret, `${SECRET}\n`);
    core = await startTestCore();
  });
  afterAll(async () => {
    await core.dispose();
    outside.remove();
  });

  it.each([
    ['tokenizer.json', 'secret', 'copy'],
    ['tokenizer.json', 'secret', 'in-place'],
    ['config.json', 'secret', 'in-place'],
    ['tokenizer.json', '/etc/passwd', 'in-place'],
    ['onnx/model.onnx', 'secret', 'copy'],
  ] as const)(
    'refuses to import a folder whose %s links to %s (%s), naming the file only',
    async (name, to, mode) => {
      const folder = `link-${name.replace('/', '-')}-${to === 'secret' ? 'secret' : 'passwd'}-${mode}`;
      const dir = withLink(folder, name, to === 'secret' ? secret : to);
      const imported = await call('POST', '/app/models/import', { path: dir, mode, id: `local/${folder}` });
      expect(imported.status).toBe(400);
      expect(imported.body).toMatchObject({
        error: {
          code: 'invalid_request',
          message: `Lodge cannot run this: the folder has ${name}, a link that leads outside the model folder.`,
        },
      });
      expect((await call('GET', `/app/models/local/${folder}`)).status).toBe(404);
      expect(existsSync(join(core.lodge.paths.models, 'local', folder))).toBe(false);
    },
  );

  it('imports a folder whose links stay inside it', async () => {
    const dir = withLink('inner-link', 'generation_config.json', './config.json');
    const imported = await call('POST', '/app/models/import', {
      path: dir,
      mode: 'in-place',
      id: 'local/inner',
    });
    expect(imported.status).toBe(200);
  });

  it.each(['/dev/zero', '/dev/null'])('answers an import of %s with a clear 400', async (path) => {
    const imported = await call('POST', '/app/models/import', { path, id: 'local/device' });
    expect(imported.status).toBe(400);
    expect(imported.body).toMatchObject({
      error: {
        code: 'invalid_request',
        message: expect.stringMatching(/neither a regular file nor a folder/),
      },
    });
  });

  it('refuses a path that leads into /proc, however it is named', async () => {
    const link = join(outside.path, 'environ.onnx');
    symlinkSync('/proc/self/environ', link);
    for (const path of [link, '/proc', '/proc/self']) {
      const imported = await call('POST', '/app/models/import', { path, id: 'local/environ' });
      expect(imported.status).toBe(400);
      expect(imported.body).toMatchObject({
        error: { code: 'invalid_request', message: expect.stringMatching(/system folder/) },
      });
    }
  });

  it.each(['/', '/etc'])('refuses %s as a model folder at once, without walking all of it', async (path) => {
    const imported = await call('POST', '/app/models/import', { path, mode: 'in-place', id: 'local/root' });
    expect(imported.status).toBe(400);
    expect(imported.body).toMatchObject({
      error: { code: 'invalid_request', message: /^Lodge cannot run this/ },
    });
  });

  it('refuses a folder with more entries than any model has', async () => {
    const dir = join(outside.path, 'crowded');
    cpSync(fixturePath(TINY_LM), dir, { recursive: true });
    mkdirSync(join(dir, 'many'));
    for (let index = 0; index < 10_001; index++) writeFileSync(join(dir, 'many', String(index)), '');
    const imported = await call('POST', '/app/models/import', {
      path: dir,
      mode: 'in-place',
      id: 'local/crowded',
    });
    expect(imported.body).toMatchObject({
      error: { message: 'Lodge cannot run this: the folder holds more than 10000 files and folders.' },
    });
  });

  it('refuses a folder holding a FIFO, which would block whoever reads it', async () => {
    const dir = join(outside.path, 'fifo');
    cpSync(fixturePath(TINY_LM), dir, { recursive: true });
    rmSync(join(dir, 'tokenizer_config.json'));
    execFileSync('mkfifo', [join(dir, 'tokenizer_config.json')]);
    const imported = await call('POST', '/app/models/import', {
      path: dir,
      mode: 'in-place',
      id: 'local/fifo',
    });
    expect(imported.status).toBe(400);
    expect(imported.body).toMatchObject({
      error: {
        message: 'Lodge cannot run this: the folder has tokenizer_config.json, which is not a regular file.',
      },
    });
  });

  it('marks an installed model missing when a link out appears in its folder, and serves nothing from it', async () => {
    const installed = await call('POST', '/app/models/import', {
      path: fixturePath(TINY_LM),
      mode: 'copy',
      id: 'local/later-linked',
    });
    expect(installed.status).toBe(200);
    const dir = join(core.lodge.paths.models, 'local/later-linked');
    rmSync(join(dir, 'tokenizer.json'));
    symlinkSync(secret, join(dir, 'tokenizer.json'));
    await call('POST', '/app/models/refresh');
    expect((await call('GET', '/app/models/local/later-linked')).body).toMatchObject({ status: 'missing' });
    const chat = await call('POST', '/v1/chat/completions', {
      model: 'local/later-linked',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(chat.status).toBe(404);
    expect(JSON.stringify(chat.body)).not.toContain(core.lodge.paths.models);
  });

  it('refuses to import or copy into models/<owner> when that owner folder links outside', async () => {
    const elsewhere = join(outside.path, 'owner-target');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(core.lodge.paths.models, 'linked-owner'));
    const imported = await call('POST', '/app/models/import', {
      path: fixturePath(TINY_LM),
      mode: 'copy',
      id: 'linked-owner/lm',
    });
    expect(imported.status).toBe(403);
    expect(imported.body).toMatchObject({
      error: { code: 'forbidden', message: expect.stringMatching(/leads outside it; Lodge wrote nothing/) },
    });
    expect(readdirSync(elsewhere)).toEqual([]);
    expect((await call('GET', '/app/models/linked-owner/lm')).status).toBe(404);
  });

  it('skips a folder dropped into models/ with a link out, and a model folder that is itself a link', async () => {
    const dropped = join(core.lodge.paths.models, 'dropped/linked');
    cpSync(fixturePath(TINY_LM), dropped, { recursive: true });
    rmSync(join(dropped, 'tokenizer.json'));
    symlinkSync(secret, join(dropped, 'tokenizer.json'));
    const elsewhere = join(outside.path, 'elsewhere');
    cpSync(fixturePath(TINY_LM), elsewhere, { recursive: true });
    symlinkSync(elsewhere, join(core.lodge.paths.models, 'dropped/symlinked'));
    const refreshed = await call('POST', '/app/models/refresh');
    const ids = (refreshed.body.models as { id: string }[]).map((model) => model.id);
    expect(ids).not.toContain('dropped/linked');
    expect(ids).not.toContain('dropped/symlinked');
  });
});
