import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { NamedTensor } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import { LODGE_VERSION } from '../../version';
import { clientGone } from '../streaming';
import { describeJsonPath, jsonTextOverflow } from '../json-bounds';
import { decodeBody } from './decode';
import { HEADER_MAX_DEPTH, InferRequestSchema, ModelPathSchema, type InferRequest } from './schemas';
import { binaryData, jsonData, parseJsonExact, toTensor, v2Datatype, v2Shape } from './tensors';

/** Tensor bodies may be large (images, batches): KServe routes take up to this much. */
export const KSERVE_BODY_LIMIT = 256 * 1024 * 1024;

/** Splits `/v2/models/<name>[/versions/<v>][/<action>]`; the name may hold an encoded or plain slash. */
function parseModelPath(rest: string): { name: string; action: 'metadata' | 'ready' | 'infer' | 'config' } {
  let path = rest.replace(/\/+$/, '');
  let action: 'metadata' | 'ready' | 'infer' | 'config' = 'metadata';
  for (const candidate of ['ready', 'infer', 'config'] as const) {
    if (path.endsWith(`/${candidate}`)) {
      action = candidate;
      path = path.slice(0, -candidate.length - 1);
      break;
    }
  }
  path = path.replace(/\/versions\/[^/]+$/, '');
  try {
    return { name: decodeURIComponent(path), action };
  } catch {
    throw new LodgeError('invalid_request', 'The model name in the path is not valid percent-encoding.');
  }
}

/** The raw body the content parser kept (already decompressed by the preParsing hook). */
function bodyBytes(request: FastifyRequest): Buffer {
  const body: unknown = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0)
    throw new LodgeError('invalid_request', 'The request has no body.');
  return body;
}

/** Parses and validates the JSON inference header, keeping integers past 2^53 exact. */
function parseHeader(text: string): InferRequest {
  const overflow = jsonTextOverflow(text, HEADER_MAX_DEPTH);
  if (overflow !== null) {
    throw new LodgeError(
      'invalid_request',
      `The inference header is nested deeper than ${HEADER_MAX_DEPTH} levels, at ${describeJsonPath(overflow, 'body')}.`,
    );
  }
  let json: unknown;
  try {
    json = parseJsonExact(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new LodgeError('invalid_request', `The inference header is not valid JSON: ${why}`);
  }
  const parsed = InferRequestSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new LodgeError('invalid_request', `Invalid inference request: ${describeIssues(parsed.error)}`, {
    param: parsed.error.issues[0]?.path.join('.') || undefined,
  });
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${['body', ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ');
}

/** KServe v2 / Open Inference Protocol routes for plain ONNX models: tensors in, tensors out. */
export function registerKserveRoutes(app: FastifyInstance, engine: Engine): void {
  void app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();
    // Bodies are read raw here: a JSON header possibly followed by binary tensor data.
    scope.removeAllContentTypeParsers();
    scope.addHook('preParsing', async (request, _reply, payload) => {
      // Only a POST body is read; decoding anything else would start reading a body nobody wants.
      if (request.method !== 'POST') return payload;
      const encoding = request.headers['content-encoding'];
      return (
        decodeBody(payload, Array.isArray(encoding) ? encoding.join(',') : encoding, KSERVE_BODY_LIMIT) ??
        payload
      );
    });
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: KSERVE_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    const hide = { schema: { tags: ['kserve'] } };
    const withPath = { schema: { tags: ['kserve'], params: ModelPathSchema } };

    scope.get('/v2', hide, () => ({
      name: 'lodge',
      version: LODGE_VERSION,
      extensions: ['binary_tensor_data'],
    }));
    scope.get('/v2/health/live', hide, () => ({ live: true }));
    scope.get('/v2/health/ready', hide, () => ({ ready: true }));

    scope.get('/v2/models/*', withPath, (request) => {
      const { name, action } = parseModelPath(request.params['*']);
      const { record } = engine.resolve(name);
      if (action === 'ready') return { name: record.id, ready: true };
      if (action === 'infer') throw new LodgeError('invalid_request', 'infer takes POST.');
      if (record.signature === null)
        throw new LodgeError('model_load_failed', `The graph of ${record.id} could not be read.`);
      const describe = (info: (typeof record.signature.inputs)[number]) => ({
        name: info.name,
        datatype: v2Datatype(info.type),
        shape: v2Shape(info.shape),
      });
      return {
        name: record.id,
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: record.signature.inputs.map(describe),
        outputs: record.signature.outputs.map(describe),
      };
    });

    scope.post('/v2/models/*', { ...withPath, bodyLimit: KSERVE_BODY_LIMIT }, async (request, reply) => {
      const { name, action } = parseModelPath(request.params['*']);
      if (action !== 'infer') throw new LodgeError('not_found', `No route POST ${request.url}.`);
      return infer(engine, name, request, reply);
    });
  });
}

async function infer(
  engine: Engine,
  name: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const bytes = bodyBytes(request);
  const headerLengthText = request.headers['inference-header-content-length'];
  const headerLength = headerLengthText === undefined ? bytes.length : Number(headerLengthText);
  if (!Number.isInteger(headerLength) || headerLength <= 0 || headerLength > bytes.length) {
    throw new LodgeError('invalid_request', 'Inference-Header-Content-Length does not fit the body.');
  }
  const header = parseHeader(bytes.subarray(0, headerLength).toString('utf8'));

  let offset = headerLength;
  const inputs = header.inputs.map((input) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) return toTensor(input, null);
    if (offset + size > bytes.length)
      throw new LodgeError(
        'invalid_request',
        `Input "${input.name}" says ${size} binary bytes, but the body is shorter.`,
      );
    const slice = bytes.subarray(offset, offset + size);
    offset += size;
    return toTensor(input, slice);
  });
  if (offset !== bytes.length)
    throw new LodgeError(
      'invalid_request',
      `The body has ${bytes.length - offset} bytes past the header and the binary inputs it declares.`,
    );
  const wanted = header.outputs?.map((output) => output.name);
  const result = await engine.infer(
    name,
    { inputs, ...(wanted ? { outputs: wanted } : {}) },
    { signal: clientGone(request, reply) },
  );

  const binaryFor = (output: NamedTensor) =>
    header.outputs?.find((requested) => requested.name === output.name)?.parameters?.binary_data ??
    header.parameters?.binary_data_output === true;
  const binaries: Buffer[] = [];
  const outputs = result.outputs.map((output) => {
    const base = { name: output.name, datatype: v2Datatype(output.type), shape: [...output.dims] };
    if (!binaryFor(output)) return { ...base, data: jsonData(output) };
    const data = binaryData(output);
    binaries.push(data);
    return { ...base, parameters: { binary_data_size: data.length } };
  });
  const json = JSON.stringify({
    model_name: result.model,
    ...(header.id !== undefined ? { id: header.id } : {}),
    outputs,
  });
  if (binaries.length === 0) return reply.type('application/json').send(json);
  const head = Buffer.from(json, 'utf8');
  return reply
    .type('application/octet-stream')
    .header('inference-header-content-length', String(head.length))
    .send(Buffer.concat([head, ...binaries]));
}
