import type { FastifyInstance } from 'fastify';
import type { ModelAliases } from '../../remote/model-aliases';
import type { RemoteEngines } from '../../remote/remote-engines';
import { contractRoute } from '../contract-route';

/**
 * `/app/engines` (remote OpenAI-compatible engines: list, add and check, check again, remove) and
 * `/app/aliases` (model aliases: list, save, remove). An engine's key goes in and never comes back
 * out: the views say only `hasKey`.
 */
export function registerRemoteRoutes(
  app: FastifyInstance,
  remotes: RemoteEngines,
  aliases: ModelAliases,
): void {
  contractRoute(app, 'engines', () => ({ engines: remotes.list() }));
  contractRoute(app, 'addEngine', ({ body }) => remotes.add(body));
  contractRoute(app, 'checkEngine', ({ params }) => remotes.check(params.name));
  contractRoute(app, 'removeEngine', ({ params }) => ({
    name: params.name,
    removed: remotes.remove(params.name),
  }));
  contractRoute(app, 'aliases', () => ({ aliases: aliases.list() }));
  contractRoute(app, 'createAlias', ({ body }) => aliases.save(body.name, body.targets));
  contractRoute(app, 'saveAlias', ({ params, body }) => aliases.save(params.name, body.targets));
  contractRoute(app, 'removeAlias', ({ params }) => ({
    name: params.name,
    removed: aliases.remove(params.name),
  }));
}
