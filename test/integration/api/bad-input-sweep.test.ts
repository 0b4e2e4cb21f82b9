import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { familyOf } from '../../../src/main/core/api/families';
import { appRoutes } from '../../../src/shared/routes';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TENSOR_MODEL, TINY_EMBEDDER, TINY_LM } from '../../fixtures/models';
import { expectFamilyError, rawRequest } from './family-errors';

const MODEL = 'test/tiny-lm';

/** Bodies no route accepts, as JSON text: wrong types, broken JSON, absurd depth and size. */
const HOSTILE_BODIES: Readonly<Record<string, string>> = {
  null: 'null',
  'empty array': '[]',
  string: '"str"',
  number: '1',
  boolean: 'true',
  'broken JSON': '{"model":',
  'nested 100,000 deep': `{"model":"${MODEL}","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
  'over the body limit': JSON.stringify({ model: MODEL, x: 'x'.repeat(9 * 1024 * 1024) }),
  'every known field null': JSON.stringify(
    Object.fromEntries(
      ['messages', 'prompt', 'input', 'inputs', 'outputs', 'options', 'tools', 'format', 'keep_alive']
        .concat(['source', 'destination', 'path', 'repo', 'files', 'title', 'params', 'settings'])
        .map((key) => [key, null]),
    ),
  ),
  'every known field the wrong type': JSON.stringify({
    model: MODEL,
    name: MODEL,
    messages: [null, 1, 'x', { role: 'user', content: { text: 1 } }],
    prompt: { text: 1 },
    input: [[null]],
    inputs: [{ name: 1 }],
    outputs: 'all',
    options: [1],
    tools: [{ type: 'function', function: null }],
    format: 'yaml',
    keep_alive: { forever: true },
    stream: 'yes',
    source: 1,
    destination: [],
    path: { from: '/dev/zero' },
    messages_count: -1,
    max_tokens: 1e308,
    temperature: 'hot',
  }),
};

/** JSON, what curl -d sends, text, and types no route parses. */
const CONTENT_TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
];

/** Path segments and query strings that no route should answer with a 5xx. */
const HOSTILE_SEGMENTS = ['..%2F..%2Fetc%2Fpasswd', '%00', 'x'.repeat(5000), '%E0%A4%A', '..', '%2e%2e'];
const HOSTILE_QUERY =
  '?limit=-1&offset=1e999&since=yesterday&level=%00&q=' + 'x'.repeat(3000) + '&page=[]&model=%E0%A4';

/** Fills path parameters of an OpenAPI path template with plausible values. */
function concretePath(template: string): string {
  return template
    .replace('{owner}', 'nobody')
    .replace('{name}', 'nothing')
    .replace('{id}', randomUUID())
    .replace('/v2/models/{*}', '/v2/models/local%2Ftensors/infer')
    .replace('{*}', 'x');
}

describe('bad input to every route that takes a body: never a 5xx, always the family’s error shape', () => {
  let core: TestCore;
  let routes: { method: string; path: string }[] = [];
  beforeAll(async () => {
    core = await startTestCore({
      models: { [MODEL]: TINY_LM, 'test/embedder': TINY_EMBEDDER, 'local/tensors': TENSOR_MODEL },
    });
    const document = (await (await fetch(`${core.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const fromDocument = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((method) => ['post', 'put', 'patch', 'delete'].includes(method))
        .map((method) => ({ method: method.toUpperCase(), path: concretePath(path) })),
    );
    // The app contract too, so a route the API description left out is still swept.
    const fromContract = Object.values(appRoutes)
      .filter((route) => route.method !== 'GET')
      .map((route) => ({
        method: route.method,
        path: concretePath(route.path.replace(/:(\w+)/g, '{$1}')),
      }));
    const seen = new Set<string>();
    routes = [...fromDocument, ...fromContract].filter((route) => {
      const key = `${route.method} ${route.path.replace(/[0-9a-f-]{36}/, 'ID')}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('finds the routes of every family to sweep', () => {
    const families = new Set(routes.map((route) => familyOf(route.path)));
    expect([...families].sort()).toEqual(['anthropic', 'app', 'kserve', 'ollama', 'openai']);
    expect(routes.length).toBeGreaterThan(20);
  });

  it.each(Object.entries(HOSTILE_BODIES))('a body that is %s', async (_what, body) => {
    const failures: string[] = [];
    for (const route of routes) {
      for (const contentType of CONTENT_TYPES) {
        const answer = await rawRequest(core.url, {
          method: route.method,
          path: route.path,
          headers: { 'content-type': contentType },
          body,
        });
        const where = `${route.method} ${route.path} (${contentType}) → ${answer.status} ${answer.text.slice(0, 200)}`;
        if (answer.status >= 500) failures.push(where);
        else if (answer.status >= 400) {
          try {
            expectFamilyError(familyOf(route.path), answer.body);
          } catch {
            failures.push(`wrong shape: ${where}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('hostile path segments and query strings on every GET route', async () => {
    const document = (await (await fetch(`${core.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    // The event stream never ends, and hub routes would reach for the network.
    const gets = Object.entries(document.paths)
      .filter(
        ([path, methods]) => 'get' in methods && path !== '/app/events' && !path.startsWith('/app/hub/'),
      )
      .map(([path]) => path);
    const failures: string[] = [];
    for (const template of gets) {
      const paths = template.includes('{')
        ? HOSTILE_SEGMENTS.map((segment) => template.replace(/\{[^}]+\}/g, segment))
        : [template];
      for (const path of paths) {
        const answer = await rawRequest(core.url, { path: `${path}${HOSTILE_QUERY}` });
        const where = `GET ${path.slice(0, 120)} → ${answer.status} ${answer.text.slice(0, 200)}`;
        if (answer.status >= 500) failures.push(where);
        else if (answer.status >= 400) {
          try {
            expectFamilyError(familyOf(path), answer.body);
          } catch {
            failures.push(`wrong shape: ${where}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
