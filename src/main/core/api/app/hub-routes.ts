import { totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type {
  DownloadParamsSchema,
  HubSearchQuerySchema,
  StartDownloadSchema,
} from '../../../../shared/contract/hub';
import type { ModelParamsSchema } from '../../../../shared/contract/library';
import type { DownloadManager } from '../../hub/download-manager';
import type { HubClient } from '../../hub/hub-client';
import { compatibility } from '../../hub/repo-files';
import { chooseVariant, type ModelCatalog } from '../../library/model-catalog';
import { contractRoute } from '../contract-route';

/** A model fits when its weights, with runtime overhead, stay within the default memory budget. */
const fits = (bytes: number, memory: number) => bytes * 1.25 < memory * 0.8;

/** Hub search, repo details (variants, sizes, fit, model card) and the download manager. */
export function registerHubRoutes(
  app: FastifyInstance,
  hub: HubClient,
  downloads: DownloadManager,
  catalog: ModelCatalog,
): void {
  contractRoute(app, 'hubSearch', async ({ query }) => {
    const { q, task, sort, limit } = query as z.output<typeof HubSearchQuerySchema>;
    const installed = new Set(
      catalog.entries().flatMap((model) => (model.source.kind === 'hub' ? [model.source.repo] : [model.id])),
    );
    const models = await hub.search({ search: q, task: task ?? null, sort, limit });
    return {
      models: models.map((model) => ({
        ...model,
        tags: [...model.tags],
        installed: installed.has(model.id),
      })),
    };
  });
  contractRoute(app, 'hubRepo', async ({ params }) => {
    const { owner, name } = params as z.output<typeof ModelParamsSchema>;
    const repo = `${owner}/${name}`;
    const { sha, gated } = await hub.revision(repo, 'main');
    const files = await hub.tree(repo, sha);
    const offer = compatibility(files);
    const [card, tokenizerConfig] = await Promise.all([
      hub.text(repo, sha, 'README.md').catch(() => null),
      files.some((file) => file.path === 'tokenizer_config.json')
        ? hub.text(repo, sha, 'tokenizer_config.json').catch(() => null)
        : Promise.resolve(null),
    ]);
    const memory = totalmem();
    const pseudo = {
      variants: offer.variants.map((variant) => ({ name: variant.name, file: '', bytes: variant.bytes })),
      preset: {},
    };
    return {
      id: repo,
      revision: sha,
      gated,
      format: offer.format,
      problem: offer.problem,
      hasTokenizer: offer.hasTokenizer,
      hasChatTemplate:
        tokenizerConfig?.includes('"chat_template"') === true ||
        files.some((file) => file.path.startsWith('chat_template.')),
      variants: offer.variants.map((variant) => ({
        name: variant.name,
        bytes: variant.bytes,
        fits: fits(variant.bytes, memory),
      })),
      recommendedVariant: offer.variants.length > 0 ? chooseVariant(pseudo as never, null).name : null,
      memoryBytes: memory,
      card,
    };
  });
  contractRoute(app, 'downloads', () => ({ downloads: downloads.list().map(plain) }));
  contractRoute(app, 'startDownload', async ({ body }) =>
    plain(await downloads.start(body as z.output<typeof StartDownloadSchema>)),
  );
  const idOf = (params: unknown) => (params as z.output<typeof DownloadParamsSchema>).id;
  contractRoute(app, 'pauseDownload', ({ params }) => plain(downloads.pause(idOf(params))));
  contractRoute(app, 'resumeDownload', ({ params }) => plain(downloads.resume(idOf(params))));
  contractRoute(app, 'cancelDownload', ({ params }) => plain(downloads.cancel(idOf(params))));
}

function plain<T extends { files: readonly unknown[] }>(view: T) {
  return { ...view, files: [...view.files] } as T & { files: never[] };
}
