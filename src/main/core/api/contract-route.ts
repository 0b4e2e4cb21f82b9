import type {
  ContextConfigDefault,
  FastifyInstance,
  FastifyRequest,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { appRoutes, type AppRouteName, type RouteOutput, type RouteSpec } from '../../../shared/routes';

/**
 * The request schemas of one contract route, as the zod type provider reads them. The response
 * schema goes to Fastify beside them (it serializes with it); the handler's return type is checked
 * by {@link ContractHandler} instead.
 */
interface ContractSchema<S extends RouteSpec> {
  readonly params: S['params'];
  readonly querystring: S['query'];
  readonly body: S['body'];
}

/** A request to the contract route `S`, its parts typed by the type provider from S's schemas. */
type ContractRequest<S extends RouteSpec> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  ContractSchema<S>,
  ZodTypeProvider
>;

type Spec<N extends AppRouteName> = (typeof appRoutes)[N];

/**
 * What the handler of route `N` receives: its path parameters, query and body as that route's
 * schemas parsed them (`z.output`; `unknown` where the route has none), so a handler written against
 * another route's schema does not compile.
 */
export interface ContractInput<N extends AppRouteName> {
  readonly params: ContractRequest<Spec<N>>['params'];
  readonly query: ContractRequest<Spec<N>>['query'];
  readonly body: ContractRequest<Spec<N>>['body'];
  readonly request: FastifyRequest;
}

/** The handler of one contract route. */
export type ContractHandler<N extends AppRouteName> = (
  input: ContractInput<N>,
) => RouteOutput<N> | Promise<RouteOutput<N>>;

/**
 * Registers the handler for one route of the shared app contract, with that route's schemas for
 * validation, response serialization and the OpenAPI document.
 */
export function contractRoute<N extends AppRouteName>(
  app: FastifyInstance,
  name: N,
  handler: ContractHandler<N>,
): void {
  register<Spec<N>, RouteOutput<N>>(app, name, appRoutes[name], handler);
}

/** {@link contractRoute} over the route's spec itself, so the type provider can see its schemas. */
function register<S extends RouteSpec, Output>(
  app: FastifyInstance,
  name: string,
  spec: S,
  handler: (input: {
    params: ContractRequest<S>['params'];
    query: ContractRequest<S>['query'];
    body: ContractRequest<S>['body'];
    request: FastifyRequest;
  }) => Output | Promise<Output>,
): void {
  const schema: ContractSchema<S> & { operationId: string; tags: string[]; response: object } = present({
    operationId: name,
    tags: ['app'],
    params: spec.params,
    querystring: spec.query,
    body: spec.body,
    response: { 200: spec.response },
  });
  app
    .withTypeProvider<ZodTypeProvider>()
    .route<RouteGenericInterface, ContextConfigDefault, ContractSchema<S>>({
      method: spec.method,
      url: spec.path,
      schema,
      handler: (request: ContractRequest<S>) =>
        handler({ params: request.params, query: request.query, body: request.body, request }),
    });
}

/**
 * The object without its undefined entries. NOTE: Fastify warns about a schema key that is present
 * but undefined (a route without a query would log "querystring schema … is missing").
 */
function present<T extends object>(value: T): T {
  for (const [key, entry] of Object.entries(value))
    if (entry === undefined) Reflect.deleteProperty(value, key);
  return value;
}
