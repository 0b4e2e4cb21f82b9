import type { ModelSummary } from '../../../shared/contract/models';
import type { ModelAlias, RemoteEngine } from '../../../shared/contract/remote';
import type { ApiClient } from '../../lib/api-client';

/**
 * A model that is not in the local library (a remote engine's, or an alias) shaped as a library
 * model, so the chat picker and compare mode offer it beside local ones: no files, no preset.
 */
function routedSummary(id: string, location: string, tag: string): ModelSummary {
  return {
    id,
    format: 'onnx',
    task: 'text-generation',
    architecture: null,
    variants: [],
    contextLength: null,
    hasChatTemplate: true,
    status: 'ready',
    source: { kind: 'folder' },
    location,
    parameterCount: null,
    totalBytes: 0,
    alias: null,
    tags: [tag],
    preset: {},
    addedAt: new Date(0).toISOString(),
    lastUsedAt: null,
  };
}

/** The models of the remote engines that are up, then the model aliases, as chat can pick them. */
export function routedModels(
  engines: readonly RemoteEngine[],
  aliases: readonly ModelAlias[],
): ModelSummary[] {
  return [
    ...engines
      .filter((engine) => engine.health.status !== 'down')
      .flatMap((engine) => engine.models.map((model) => routedSummary(model, engine.baseUrl, 'remote'))),
    ...aliases.map((alias) => routedSummary(alias.name, alias.targets.join(' → '), 'alias')),
  ];
}

/** Asks the core for its engines and aliases, as {@link routedModels}; none when that fails. */
export async function fetchRoutedModels(api: ApiClient, signal?: AbortSignal): Promise<ModelSummary[]> {
  try {
    const [engines, aliases] = await Promise.all([
      api.call('engines', undefined, signal),
      api.call('aliases', undefined, signal),
    ]);
    return routedModels(engines.engines, aliases.aliases);
  } catch {
    // The local models are enough to chat; a core without remote routes just offers none.
    return [];
  }
}

/** How an engine's health reads: the dot's tone and its words. */
export function healthOf(engine: RemoteEngine): { tone: 'good' | 'bad' | 'idle'; label: string } {
  const { status, latencyMs, checkedAt } = engine.health;
  const when = checkedAt ? `, checked ${new Date(checkedAt).toLocaleTimeString()}` : '';
  if (status === 'up') return { tone: 'good', label: `Up, ${Math.round(latencyMs ?? 0)} ms${when}` };
  if (status === 'down') return { tone: 'bad', label: `Down${when}` };
  return { tone: 'idle', label: 'Not checked yet' };
}
