import type { FastifyInstance } from 'fastify';
import { LodgeError } from '../errors';
import { describeJsonPath, jsonTextOverflow, MAX_BODY_DEPTH } from './json-bounds';

/**
 * Replaces Fastify's JSON body parser with one that first measures the text's nesting, so a body
 * nested 100,000 deep is a 400 before any recursive code (parser, validator, serializer) sees it.
 * Parsing itself stays Fastify's own (secure-json-parse, refusing `__proto__` and `constructor`).
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const overflow = jsonTextOverflow(text, MAX_BODY_DEPTH);
    if (overflow !== null) {
      done(
        new LodgeError(
          'invalid_request',
          `The request body is nested deeper than ${MAX_BODY_DEPTH} levels of arrays and objects, at ${describeJsonPath(overflow, 'body')}.`,
        ),
        undefined,
      );
      return;
    }
    parse(request, text, done);
  });
}
