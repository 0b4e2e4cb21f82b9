import { Template } from '@huggingface/jinja';
import Anthropic from '@anthropic-ai/sdk';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, fixtureWithQ4, scriptedLanguageModel } from '../../fixtures/models';
import { CHATML_TEMPLATE } from '../../fixtures/tokenizer';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const messages = [{ role: 'user' as const, content: 'Which one are you?' }];
const prompt = new Template(CHATML_TEMPLATE).render({
  messages,
  add_generation_prompt: true,
  eos_token: '<|im_end|>',
  pad_token: '<|endoftext|>',
});

interface Revision {
  revision: string;
  short: string;
  active: boolean;
  pinned: boolean;
  bytes: number;
}

// Two contents imported under one id: the first answers "alpha"; the second answers "beta" and
// has a q4 variant besides. Config and tokenizer are the same bytes in both.
describe('revisions of an imported model, selected by model@revision in every API family', () => {
  const sources = tempDir('lodge-revision-sources-');
  let core: TestCore;
  let alpha: Revision;
  let beta: Revision;
  const alphaDir = fixturePath(scriptedLanguageModel(prompt, 'alpha'));
  const betaDir = join(sources.path, 'beta');
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${core.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const revisions = async () =>
    (await call('GET', '/app/models/local/rev/revisions')).body.revisions as Revision[];
  const inode = (dir: string, file: string) => statSync(join(dir, file)).ino;

  beforeAll(async () => {
    fixtureWithQ4(scriptedLanguageModel(prompt, 'beta'), betaDir);
    core = await startTestCore();
    expect((await call('POST', '/app/models/import', { path: alphaDir, id: 'local/rev' })).status).toBe(200);
    expect((await call('POST', '/app/models/import', { path: betaDir, id: 'local/rev' })).status).toBe(200);
    const [first, second] = await revisions();
    if (first === undefined || second === undefined) throw new Error('expected two revisions');
    [alpha, beta] = [first, second];
  });
  afterAll(async () => {
    await core.dispose();
    sources.remove();
  });

  it('keeps one revision per content, the newest active, sharing the files they have in common', async () => {
    expect([alpha.active, beta.active]).toEqual([false, true]);
    expect(alpha.revision).toMatch(/^[0-9a-f]{64}$/);
    const alphaFolder = join(core.dataDir, 'models/local/rev');
    const betaFolder = join(core.dataDir, 'models/.revisions/local/rev', beta.revision);
    // The tokenizer is one file on disk for both; the weights differ.
    expect(inode(betaFolder, 'tokenizer.json')).toBe(inode(alphaFolder, 'tokenizer.json'));
    expect(statSync(join(betaFolder, 'tokenizer.json')).nlink).toBe(2);
    expect(inode(betaFolder, 'onnx/model.onnx')).not.toBe(inode(alphaFolder, 'onnx/model.onnx'));
    // Disk use is alpha's bytes plus only what beta does not have in common with it.
    const sameBytes = readdirSync(betaFolder, { recursive: true, encoding: 'utf8' })
      .filter((path) => statSync(join(betaFolder, path)).isFile())
      .filter((path) => {
        try {
          return readFileSync(join(alphaFolder, path)).equals(readFileSync(join(betaFolder, path)));
        } catch {
          return false;
        }
      })
      .reduce((sum, path) => sum + statSync(join(betaFolder, path)).size, 0);
    expect(sameBytes).toBeGreaterThan(0);
    const list = (await call('GET', '/app/models/local/rev/revisions')).body;
    expect(list.diskBytes).toBe(alpha.bytes + beta.bytes - sameBytes);
  });

  it('exports every kept revision that has the variant as one Triton version, the active one last', async () => {
    const exportDir = join(sources.path, 'triton');
    const sourceOf = (revision: Revision) => (revision.revision === alpha.revision ? alphaDir : betaDir);
    const graph = (dir: string) => readFileSync(join(dir, 'onnx/model.onnx'));
    const now = await revisions();
    const active = now.find((revision) => revision.active) as Revision;
    const older = now.find((revision) => !revision.active) as Revision;
    const fp32 = await call('POST', '/app/models/local/rev/export', { dir: exportDir });
    expect(fp32.status).toBe(200);
    expect(readFileSync(join(exportDir, 'local_rev/1/model.onnx')).equals(graph(sourceOf(older)))).toBe(true);
    expect(readFileSync(join(exportDir, 'local_rev/2/model.onnx')).equals(graph(sourceOf(active)))).toBe(
      true,
    );
    // Only beta has a q4 graph: one version.
    const q4 = await call('POST', '/app/models/local/rev/export', {
      dir: exportDir,
      variant: 'q4',
      name: 'rev_q4',
    });
    expect(q4.status).toBe(200);
    expect(readdirSync(join(exportDir, 'rev_q4')).sort()).toEqual(['1', 'config.pbtxt']);
  });

  it('importing the same content again is the same revision: nothing is copied, and it is active again', async () => {
    const before = inode(join(core.dataDir, 'models/local/rev'), 'onnx/model.onnx');
    const again = await call('POST', '/app/models/import', { path: alphaDir, id: 'local/rev' });
    expect(again.status).toBe(200);
    const now = await revisions();
    expect(now.map((revision) => [revision.revision, revision.active])).toEqual([
      [alpha.revision, true],
      [beta.revision, false],
    ]);
    expect(inode(join(core.dataDir, 'models/local/rev'), 'onnx/model.onnx')).toBe(before);
  });

  it('OpenAI: model@revision runs that revision, a bare name the active one', async () => {
    const openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const ask = async (model: string) =>
      (await openai.chat.completions.create({ model, messages, temperature: 0, max_tokens: 8 })).choices[0]
        ?.message.content;
    expect(await ask(`local/rev@${beta.short}`)).toBe('beta');
    expect(await ask(`local/rev@${alpha.revision}`)).toBe('alpha');
    expect(await ask('local/rev')).toBe('alpha');
    // A tag and a revision together: q4 exists only in beta.
    expect(await ask(`local/rev:q4@${beta.short}`)).toBe('beta');
    // The tag written after the revision reads the same, not as a revision named "<short>:q4".
    expect(await ask(`local/rev@${beta.short}:q4`)).toBe('beta');
    const missing = await openai.chat.completions
      .create({ model: `local/rev:q4@${alpha.short}`, messages })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    const unknown = await openai.chat.completions
      .create({ model: 'local/rev@1234567', messages })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).message).toMatch(
      /local\/rev has no revision '1234567'/,
    );
  });

  it('Ollama: model@revision in chat, and an unknown one is a 404 naming it', async () => {
    const ollama = new Ollama({ host: core.url });
    const answer = await ollama.chat({
      model: `local/rev@${beta.short}`,
      messages,
      options: { temperature: 0, num_predict: 8 },
    });
    expect(answer.message.content).toBe('beta');
    const unknown = await ollama
      .chat({ model: 'local/rev@abcdef0', messages })
      .catch((error: unknown) => error);
    expect(unknown).toMatchObject({
      status_code: 404,
      error: expect.stringMatching(/no revision 'abcdef0'/),
    });
  });

  it('Anthropic: model@revision in messages, and an unknown one is a not_found_error naming it', async () => {
    const anthropic = new Anthropic({ baseURL: core.url, apiKey: 'x', maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: `local/rev@${beta.short}`,
      max_tokens: 8,
      messages,
    });
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: 'beta' })]);
    const unknown = await anthropic.messages
      .create({ model: 'local/rev@abcdef0', max_tokens: 8, messages })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect(JSON.stringify((unknown as InstanceType<typeof Anthropic.NotFoundError>).error)).toMatch(
      /not_found_error.*no revision 'abcdef0'/,
    );
  });

  it('Responses: model@revision, and an unknown one is a 404 naming it', async () => {
    const openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const response = await openai.responses.create({
      model: `local/rev@${beta.short}`,
      input: messages,
      temperature: 0,
      max_output_tokens: 16,
      store: false,
    });
    expect(response.output_text).toBe('beta');
    const unknown = await openai.responses
      .create({ model: 'local/rev@abcdef0', input: messages })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).message).toMatch(/no revision 'abcdef0'/);
  });

  it('KServe v2: model@revision has its metadata, an unknown one is a 404 naming it', async () => {
    const known = await fetch(`${core.url}/v2/models/${encodeURIComponent(`local/rev@${beta.short}`)}`);
    expect(known.status).toBe(200);
    const unknown = await fetch(`${core.url}/v2/models/${encodeURIComponent('local/rev@abcdef0')}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: expect.stringMatching(/no revision 'abcdef0'/) });
  });

  it('the revision routes: activate, pin, delete (never the active one, never a pinned one), prune', async () => {
    const activated = await call('POST', `/app/models/local/rev/revisions/${beta.short}/activate`);
    expect(activated.status).toBe(200);
    expect((activated.body.revisions as Revision[]).map((revision) => revision.active)).toEqual([
      false,
      true,
    ]);
    const detail = await call('GET', '/app/models/local/rev');
    expect(detail.body.location).toBe(join(core.dataDir, 'models/.revisions/local/rev', beta.revision));

    const active = await call('DELETE', `/app/models/local/rev/revisions/${beta.short}`);
    expect(active.status).toBe(409);
    expect(active.body).toMatchObject({ error: { message: expect.stringMatching(/activate another/) } });
    expect((await call('PUT', `/app/models/local/rev/revisions/${alpha.short}/pin`)).status).toBe(200);
    const pruned = await call('POST', '/app/models/local/rev/revisions/prune');
    expect(pruned.body.deleted).toEqual([]);
    expect((await call('DELETE', `/app/models/local/rev/revisions/${alpha.short}`)).status).toBe(409);
    expect((await call('DELETE', `/app/models/local/rev/revisions/${alpha.short}/pin`)).status).toBe(200);
    const unknown = await call('DELETE', '/app/models/local/rev/revisions/abcdef0');
    expect(unknown.status).toBe(404);

    const deleted = await call('DELETE', `/app/models/local/rev/revisions/${alpha.short}`);
    expect(deleted.status).toBe(200);
    expect((deleted.body.revisions as Revision[]).map((revision) => revision.revision)).toEqual([
      beta.revision,
    ]);
    // The tokenizer the two shared is beta's alone now, and alpha's folder is gone.
    const betaFolder = join(core.dataDir, 'models/.revisions/local/rev', beta.revision);
    expect(statSync(join(betaFolder, 'tokenizer.json')).nlink).toBe(1);
    expect(() => statSync(join(core.dataDir, 'models/local/rev'))).toThrow();
    // Nothing else was under models/local: that folder went with it.
    expect(() => statSync(join(core.dataDir, 'models/local'))).toThrow();
    const openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const answer = await openai.chat.completions.create({ model: 'local/rev', messages, temperature: 0 });
    expect(answer.choices[0]?.message.content).toBe('beta');
  });
});
