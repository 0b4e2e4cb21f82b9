import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../../fixtures/fake-hub';
import { fixturePath, fixtureWithQ4, TINY_EMBEDDER, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const GIB = 1024 ** 3;

type Result = { id: string; variants: string[]; bytes: number | null };

describe('hub search filters: task, variant and size', () => {
  const repos = tempDir('lodge-repos-');
  let hub: FakeHub;
  let core: TestCore;
  const search = async (query: string) => {
    const response = await fetch(`${core.url}/app/hub/search?${query}`);
    const body = (await response.json()) as { models?: Result[]; error?: { message: string } };
    return { status: response.status, body };
  };
  const ids = async (query: string) => ((await search(query)).body.models ?? []).map((model) => model.id);

  beforeAll(async () => {
    const chat = fixtureWithQ4(TINY_LM, join(repos.path, 'chat'));
    hub = await FakeHub.start([
      { id: 'acme/tiny-chat', dir: chat, pipelineTag: 'text-generation', downloads: 500 },
      { id: 'acme/tiny-embed', dir: fixturePath(TINY_EMBEDDER), pipelineTag: 'feature-extraction' },
      {
        id: 'acme/big-chat',
        dir: chat,
        pipelineTag: 'text-generation',
        // The hub reports a 7B-class model: 28 GiB at fp32, 2 GiB at q4.
        reportedBytes: { 'onnx/model.onnx': 28 * GIB, 'onnx/model_q4.onnx': 2 * GIB },
      },
      { id: 'acme/gated-chat', dir: chat, pipelineTag: 'text-generation', gated: true },
    ]);
    hub.requireToken('hf_secret_token');
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl } });
  });
  afterAll(async () => {
    await core.dispose();
    await hub.close();
    repos.remove();
  });

  it('lists the variants each repo offers from its file names, without a tree lookup', async () => {
    const { body } = await search('q=acme');
    expect(body.models).toEqual([
      expect.objectContaining({ id: 'acme/tiny-chat', variants: ['fp32', 'q4'], bytes: null }),
      expect.objectContaining({ id: 'acme/tiny-embed', variants: ['fp32'], bytes: null }),
      expect.objectContaining({ id: 'acme/big-chat', variants: ['fp32', 'q4'], bytes: null }),
      expect.objectContaining({ id: 'acme/gated-chat', variants: ['fp32', 'q4'], bytes: null }),
    ]);
    expect(hub.log.filter((entry) => entry.url.includes('/tree/'))).toEqual([]);
  });

  it('keeps only repos offering the chosen variant', async () => {
    expect(await ids('variant=q4')).toEqual(['acme/tiny-chat', 'acme/big-chat', 'acme/gated-chat']);
    expect(await ids('variant=q4&task=feature-extraction')).toEqual([]);
    expect(await ids('variant=fp16')).toEqual([]);
  });

  it('filters by size using the variant sizes from each tree, and reports the size it matched', async () => {
    const under1 = await search('task=text-generation&size=under-1gb');
    // big-chat's smallest variant is 2 GiB; the gated repo's tree needs a token, so its size is unknown.
    expect(under1.body.models?.map((model) => model.id)).toEqual(['acme/tiny-chat']);
    expect(under1.body.models?.[0]?.bytes).toBeGreaterThan(0);
    expect(under1.body.models?.[0]?.bytes).toBeLessThan(GIB);

    const under4 = await search('task=text-generation&size=under-4gb&variant=q4');
    expect(under4.body.models?.map((model) => [model.id, model.bytes])).toEqual([
      ['acme/tiny-chat', expect.any(Number)],
      ['acme/big-chat', 2 * GIB],
    ]);
    // fp32 of big-chat is 28 GiB: over 4 GiB, and over what this machine can hold.
    expect(await ids('size=under-4gb&variant=fp32&task=text-generation')).toEqual(['acme/tiny-chat']);
    expect(await ids('size=fits&variant=fp32&task=text-generation')).toEqual(['acme/tiny-chat']);
  });

  it('answers a bad filter with the app error shape', async () => {
    const bad = await search('size=huge');
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/size/);
    expect((await search('variant=../etc')).status).toBe(400);
  });
});
