import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { ApiFamily } from '../../../shared/contract/system';
import { diskFullError, isDiskFull } from '../disk-full';
import { isLodgeError, LodgeError } from '../errors';
import { formatAnthropicError } from './anthropic/errors';
import { formatAppError } from './app/errors';
import { familyOf } from './families';
import type { ErrorFormatter } from './http-error';
import { noteError } from './request-log';
import { formatKserveError } from './kserve/errors';
import { formatOllamaError } from './ollama/errors';
import { formatOpenAiError } from './openai/errors';

const FORMATTERS: Readonly<Record<ApiFamily, ErrorFormatter>> = {
  openai: formatOpenAiError,
  anthropic: formatAnthropicError,
  ollama: formatOllamaError,
  kserve: formatKserveError,
  app: formatAppError,
};

/** Answers `error` in the shape of the family that `request` belongs to. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: LodgeError): FastifyReply {
  const formatted = FORMATTERS[familyOf(request.url)](error);
  noteError(request, error.code);
  return reply
    .code(formatted.status)
    .headers(formatted.headers ?? {})
    .type('application/json; charset=utf-8')
    .send(formatted.body);
}

/**
 * Answers a request Node's HTTP parser refused (bad header syntax, headers too large, too slow to
 * arrive) in the shape of the family its request line names, where one can be read. Replaces
 * Fastify's default, whose body no client SDK parses.
 */
export function answerClientError(error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request did not arrive in time.']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'The request headers are too large.']
        : [400, 'The request is not valid HTTP.'];
  // NOTE: typed as JSON, but Node hands over the raw bytes as a Buffer.
  const raw: unknown = error.rawPacket;
  const path =
    /^[A-Z]+ (\/\S*) /.exec(Buffer.isBuffer(raw) ? raw.toString('latin1', 0, 8192) : '')?.[1] ?? '/';
  const body = JSON.stringify(FORMATTERS[familyOf(path)](new LodgeError('invalid_request', message)).body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * The server's one error handler and not-found handler. Everything thrown anywhere ends here, is
 * turned into a {@link LodgeError} with a message a client can act on, and is answered in the
 * request's family shape. Internal failures are logged with their stack and answered without it.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const lodgeError = toLodgeError(error, request);
    if (lodgeError.code === 'internal') request.log.error({ err: error, url: request.url }, 'request failed');
    else request.log.debug({ code: lodgeError.code, url: request.url }, lodgeError.message);
    return sendError(request, reply, lodgeError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new LodgeError(
        'not_found',
        `No route ${request.method} ${request.url.split('?')[0]}. The API is described at /openapi.json.`,
      ),
    ),
  );
}

/** How many validation problems an error message lists. */
const MAX_ISSUES_SHOWN = 5;

/** Normalizes anything thrown into a {@link LodgeError}; exported for tests. */
export function toLodgeError(error: unknown, request: FastifyRequest): LodgeError {
  if (isLodgeError(error)) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((issue) => {
      const where = [
        error.validationContext ?? 'body',
        ...issue.instancePath.split('/').filter(Boolean),
      ].join('.');
      return `${where}: ${issue.message}`;
    });
    const param = error.validation[0]?.instancePath.split('/').filter(Boolean).join('.') || undefined;
    // NOTE: a body can hold thousands of bad fields; the answer names a few, never echoes them all.
    const shown = issues.slice(0, MAX_ISSUES_SHOWN).map((issue) => issue.slice(0, 300));
    const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '';
    return new LodgeError(
      'invalid_request',
      `Invalid request: ${shown.join('; ')}${more}`,
      param ? { param } : {},
    );
  }
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new LodgeError(
        'payload_too_large',
        `The request body is larger than this route accepts (${formatBytes(request.routeOptions.bodyLimit)}).`,
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new LodgeError(
        'invalid_request',
        `The request body is not valid JSON: ${fastifyError.message ?? ''}`.trim(),
      );
    case 'FST_ERR_BAD_URL':
      return new LodgeError(
        'invalid_request',
        'The request URL is not valid: it holds a malformed percent-encoding (such as "%E0%A4%A").',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new LodgeError('invalid_request', `Unsupported Content-Type; send application/json.`);
  }
  if (error instanceof SyntaxError) {
    return new LodgeError('invalid_request', `The request body is not valid JSON: ${error.message}`);
  }
  if (isDiskFull(error)) return diskFullError(error);
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return new LodgeError('invalid_request', fastifyError.message ?? 'Invalid request.');
  }
  return new LodgeError(
    'internal',
    `Internal error (request ${request.id}); the server log has the details.`,
    {},
    { cause: error },
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round(bytes / (1024 * 1024))} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
