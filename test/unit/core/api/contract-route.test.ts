import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { contractRoute, type ContractInput } from '../../../../src/main/core/api/contract-route';

const ID = '6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f';
const apps: ReturnType<typeof Fastify>[] = [];

function app() {
  const instance = Fastify();
  instance.setValidatorCompiler(validatorCompiler);
  instance.setSerializerCompiler(serializerCompiler);
  apps.push(instance);
  return instance;
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((instance) => instance.close()));
});

describe('contractRoute', () => {
  it('hands the handler the query as its schema parsed it (coerced, defaulted)', async () => {
    const server = app();
    const seen: ContractInput<'requests'>['query'][] = [];
    contractRoute(server, 'requests', ({ query }) => {
      seen.push(query);
      return { requests: [] };
    });
    expect((await server.inject({ url: '/app/requests?limit=7' })).statusCode).toBe(200);
    expect((await server.inject({ url: '/app/requests' })).statusCode).toBe(200);
    expect(seen).toEqual([{ limit: 7 }, { limit: 100 }]);
    expect((await server.inject({ url: '/app/requests?limit=0' })).statusCode).toBe(400);
    expect(seen).toHaveLength(2);
  });

  it('hands the handler its params and body, typed from the route', async () => {
    const server = app();
    let received: { id: string; title: string | undefined } | null = null;
    contractRoute(server, 'updateConversation', ({ params, body }) => {
      received = { id: params.id, title: body.title };
      return {
        id: params.id,
        title: body.title ?? '',
        model: '',
        systemPrompt: '',
        params: {},
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
        messageCount: 0,
        messages: [],
      };
    });
    const reply = await server.inject({
      method: 'PATCH',
      url: `/app/conversations/${ID}`,
      payload: { title: 'Renamed' },
    });
    expect(reply.statusCode, reply.body).toBe(200);
    expect(received).toEqual({ id: ID, title: 'Renamed' });
  });

  it('registers a route without params, query or body without a schema warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? warning.message);
    process.on('warning', onWarning);
    try {
      const server = app();
      contractRoute(server, 'runners', () => ({ models: [] }));
      await server.ready();
      // process.emitWarning delivers on the next tick; setImmediate runs after that queue drains.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((code) => code === 'FSTWRN001')).toEqual([]);
  });

  it('types each part from the route schema (checked by tsc)', () => {
    expectTypeOf<ContractInput<'requests'>['query']>().toEqualTypeOf<{ limit: number }>();
    expectTypeOf<ContractInput<'loadModel'>['body']>().toHaveProperty('model').toEqualTypeOf<string>();
    expectTypeOf<ContractInput<'hubRepo'>['params']>().toEqualTypeOf<{ owner: string; name: string }>();
    expectTypeOf<ContractInput<'health'>['body']>().toBeUnknown();
    const server = app();
    // @ts-expect-error the unload route's body has no keepAliveSeconds: a handler for another schema.
    contractRoute(server, 'unloadModel', ({ body }) => ({ model: body.keepAliveSeconds, unloaded: false }));
    // @ts-expect-error a route without a body gives its handler none to read.
    contractRoute(server, 'runners', ({ body }) => ({ models: body.models }));
  });
});
