import { totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { DownloadParamsSchema } from '../../../../shared/contract/hub';
import type { DownloadManager, DownloadView } from '../../hub/download-manager';
import type { HubClient, HubModel } from '../../hub/hub-client';
import { compatibility, offeredVariants } from '../../hub/repo-files';
import type { ModelCatalog } from '../../library/model-catalog';
import { chooseVariant } from '../../library/variant-choice';
import { fits, memoryBudgetBytes } from '../../model-policy';
import type { SettingsService } from '../../settings-service';
import { contractRoute } from '../contract-route';

/** Decimal, as the UI shows sizes. */
const GB = 1e9;
/** Size filters of the search: whether a variant of `bytes` passes within a memory budget. */
const SIZE_FILTERS = {
  fits: (bytes: number, budget: number) => fits(bytes, budget),
  'under-1gb': (bytes: number) => bytes <= GB,
  'under-4gb': (bytes: number) => bytes <= 4 * GB,
} as const;
/** How many repo trees a filtered search looks up at once. */
const TREE_LOOKUPS = 4;

/** Hub search, repo details (variants, sizes, fit, model card) and the download manager. */
export function registerHubRoutes(
  app: FastifyInstance,
  hub: HubClient,
  downloads: DownloadManager,
  catalog: ModelCatalog,
  settings: SettingsService,
): void {
  // What "fits" means is the model policy's: the user's memory budget, else a share of the machine's.
  const budget = () => memoryBudgetBytes(settings.values.memoryBudgetMb, totalmem());
  contractRoute(app, 'hubSearch', async ({ query }) => {
    const { q, task, sort, limit, variant, size } = query;
    const installed = new Set(
      catalog.entries().flatMap((model) => (model.source.kind === 'hub' ? [model.source.repo] : [model.id])),
    );
    // A filtered search asks the hub for more, so that a page of matches survives the filter.
    const filtered = variant !== undefined || size !== undefined;
    const found = await hub.search({
      search: q,
      task: task ?? null,
      sort,
      limit: filtered ? Math.min(100, limit * 3) : limit,
    });
    const candidates = found
      .map((model) => ({ model, variants: offeredVariants(model.files), bytes: null as number | null }))
      .filter((entry) => variant === undefined || (entry.variants as readonly string[]).includes(variant));
    const matches = size === undefined ? candidates : await withinSize(candidates, size, variant, limit);
    return {
      models: matches.slice(0, limit).map(({ model, variants, bytes }) => ({
        id: model.id,
        downloads: model.downloads,
        likes: model.likes,
        lastModified: model.lastModified,
        pipelineTag: model.pipelineTag,
        tags: [...model.tags],
        installed: installed.has(model.id),
        variants,
        bytes,
      })),
    };
  });

  /**
   * The hub lists file names without sizes, so a size filter looks up each candidate's tree, a few at
   * a time and only until `limit` match; a repo whose tree cannot be read (gated) is left out.
   */
  async function withinSize<T extends { model: HubModel; bytes: number | null }>(
    candidates: T[],
    size: keyof typeof SIZE_FILTERS,
    variant: string | undefined,
    limit: number,
  ): Promise<T[]> {
    const memory = budget();
    const matches: T[] = [];
    for (let start = 0; start < candidates.length && matches.length < limit; start += TREE_LOOKUPS) {
      const batch = candidates.slice(start, start + TREE_LOOKUPS);
      const sizes = await Promise.all(
        batch.map(async ({ model }) => {
          try {
            const offer = compatibility(await hub.tree(model.id, 'main'));
            const bytes = offer.variants
              .filter((option) => variant === undefined || option.name === variant)
              .map((option) => option.bytes);
            return bytes.length > 0 ? Math.min(...bytes) : null;
          } catch {
            return null;
          }
        }),
      );
      batch.forEach((entry, index) => {
        const bytes = sizes[index] ?? null;
        if (bytes !== null && SIZE_FILTERS[size](bytes, memory)) matches.push({ ...entry, bytes });
      });
    }
    return matches;
  }
  contractRoute(app, 'hubRepo', async ({ params }) => {
    const { owner, name } = params;
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
    const budgetBytes = budget();
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
        fits: fits(variant.bytes, budgetBytes),
      })),
      recommendedVariant: offer.variants.length > 0 ? chooseVariant(offer, null).name : null,
      memoryBytes: memory,
      card,
    };
  });
  contractRoute(app, 'downloads', () => ({ downloads: downloads.list().map(plain) }));
  contractRoute(app, 'startDownload', async ({ body }) => plain(await downloads.start(body)));
  const idOf = (params: z.output<typeof DownloadParamsSchema>) => params.id;
  contractRoute(app, 'pauseDownload', ({ params }) => plain(downloads.pause(idOf(params))));
  contractRoute(app, 'resumeDownload', ({ params }) => plain(downloads.resume(idOf(params))));
  contractRoute(app, 'cancelDownload', ({ params }) => plain(downloads.cancel(idOf(params))));
}

/** A download view with plain arrays, as the route's schema types them. */
function plain(view: DownloadView) {
  return { ...view, files: view.files.map((file) => ({ ...file })) };
}
