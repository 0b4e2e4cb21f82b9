import { gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { NamedTensor } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import { LODGE_VERSION } from '../../version';
import { clientGone } from '../streaming';
import { binaryData, jsonData, parseJsonExact, toTensor, v2Datatype, v2Shape, type V2Input } from './tensors';

/** Tensor bodies may be large (images, batches): KServe routes take up to this much. */
export const KSERVE_BODY_LIMIT = 256 * 1024 * 1024;

interface InferRequestBody {
  readonly id?: string;
  readonly parameters?: { readonly binary_data_output?: boolean };
  readonly inputs?: readonly V2Input[];
  readonly outputs?: readonly {
    readonly name: string;
    readonly parameters?: { readonly binary_data?: boolean };
  }[];
}

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
  return { name: decodeURIComponent(path), action };
}

/** The body as bytes, decompressed when the client gzipped or deflated it (tritonclient may). */
function bodyBytes(request: FastifyRequest): Buffer {
  const body = request.body as Buffer | undefined;
  if (!body || body.length === 0) throw new LodgeError('invalid_request', 'The request has no body.');
  const encoding = String(request.headers['content-encoding'] ?? '').toLowerCase();
  const limit = { maxOutputLength: KSERVE_BODY_LIMIT };
  if (encoding === 'gzip') return gunzipSync(body, limit);
  if (encoding === 'deflate') return inflateSync(body, limit);
  return body;
}

/** KServe v2 / Open Inference Protocol routes for plain ONNX models: tensors in, tensors out. */
export function registerKserveRoutes(app: FastifyInstance, engine: Engine): void {
  void app.register(async (scope) => {
    // Bodies are read raw here: a JSON header possibly followed by binary tensor data.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: KSERVE_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    const hide = { schema: { tags: ['kserve'] } };

    scope.get('/v2', hide, () => ({
      name: 'lodge',
      version: LODGE_VERSION,
      extensions: ['binary_tensor_data'],
    }));
    scope.get('/v2/health/live', hide, () => ({ live: true }));
    scope.get('/v2/health/ready', hide, () => ({ ready: true }));

    scope.get('/v2/models/*', hide, (request) => {
      const { name, action } = parseModelPath((request.params as { '*': string })['*']);
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

    scope.post('/v2/models/*', { ...hide, bodyLimit: KSERVE_BODY_LIMIT }, async (request, reply) => {
      const { name, action } = parseModelPath((request.params as { '*': string })['*']);
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
  let header: InferRequestBody;
  try {
    header = parseJsonExact(bytes.subarray(0, headerLength).toString('utf8')) as InferRequestBody;
  } catch (error) {
    throw new LodgeError(
      'invalid_request',
      `The inference header is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!Array.isArray(header.inputs) || header.inputs.length === 0)
    throw new LodgeError('invalid_request', 'The request has no inputs.');

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
