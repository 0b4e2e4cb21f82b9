import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TENSOR_MODEL, TINY_LM } from '../../fixtures/models';

const jsonInputs = [
  {
    name: 'x',
    shape: [2, 4],
    datatype: 'FP32',
    data: [
      [1, -2, 3.5, 0],
      [4, 5, 6, 7],
    ],
  },
  { name: 'ids', shape: [2], datatype: 'INT64', data: [41, 123456789] },
  { name: 'counts', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] },
  { name: 'flags', shape: [2], datatype: 'BOOL', data: [true, false] },
  { name: 'bytes', shape: [3], datatype: 'UINT8', data: [7, 8, 9] },
  { name: 'factor', shape: [1], datatype: 'FP64', data: [0.5] },
  { name: 'text', shape: [2], datatype: 'BYTES', data: ['héllo', 'lodge'] },
];

/** The FP16 input must travel binary: 1.0 and -2.0 as IEEE half. */
const halfBytes = Buffer.from(Uint16Array.of(0x3c00, 0xc000).buffer);

describe('KServe v2 over plain fetch', () => {
  let core: TestCore;
  let base: string;
  const infer = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  beforeAll(async () => {
    core = await startTestCore({ models: { 'local/tensors': TENSOR_MODEL, 'test/tiny-lm': TINY_LM } });
    base = `${core.url}/v2/models/local%2Ftensors`;
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('answers server metadata and health by status', async () => {
    expect(await (await fetch(`${core.url}/v2`)).json()).toMatchObject({
      name: 'lodge',
      extensions: ['binary_tensor_data'],
    });
    expect((await fetch(`${core.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${core.url}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${base}/ready`)).json()).toEqual({ name: 'local/tensors', ready: true });
    expect((await fetch(`${core.url}/v2/models/local%2Fnothing/ready`)).status).toBe(404);
  });

  it('describes a model: platform onnxruntime_onnx, -1 for dynamic dims', async () => {
    const metadata = (await (await fetch(base)).json()) as {
      platform: string;
      inputs: unknown[];
      outputs: unknown[];
    };
    expect(metadata.platform).toBe('onnxruntime_onnx');
    expect(metadata.inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: [-1, 4] },
      { name: 'ids', datatype: 'INT64', shape: [-1] },
      { name: 'counts', datatype: 'INT32', shape: [2, 2] },
      { name: 'flags', datatype: 'BOOL', shape: [-1] },
      { name: 'bytes', datatype: 'UINT8', shape: [-1] },
      { name: 'factor', datatype: 'FP64', shape: [1] },
      { name: 'half', datatype: 'FP16', shape: [-1] },
      { name: 'text', datatype: 'BYTES', shape: [-1] },
    ]);
    // The same through a plain slash and a version segment.
    expect((await fetch(`${core.url}/v2/models/local/tensors/versions/1`)).status).toBe(200);
  });

  it('infers with JSON tensors (nested or flat) and one binary input, returning every output', async () => {
    // 2^53 + 1 written as digits: a JS number literal would already have rounded it.
    const header = Buffer.from(
      JSON.stringify({
        id: 'req-1',
        inputs: [
          ...jsonInputs,
          { name: 'half', shape: [2], datatype: 'FP16', parameters: { binary_data_size: halfBytes.length } },
        ],
      }).replace('123456789', '9007199254740993'),
    );
    const response = await infer(Buffer.concat([header, halfBytes]), {
      'inference-header-content-length': String(header.length),
      'content-type': 'application/octet-stream',
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    // Integers past 2^53 come back exact in the JSON text.
    expect(text).toContain('9007199254740994');
    const body = JSON.parse(text) as {
      model_name: string;
      id: string;
      outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
    };
    expect(body).toMatchObject({ model_name: 'local/tensors', id: 'req-1' });
    const byName = Object.fromEntries(body.outputs.map((output) => [output.name, output]));
    expect(byName.scaled).toEqual({
      name: 'scaled',
      datatype: 'FP32',
      shape: [2, 4],
      data: [2, -4, 7, 0, 8, 10, 12, 14],
    });
    expect(byName.next?.data[0]).toBe(42);
    expect(byName.negated?.data).toEqual([-1, -2, -3, -4]);
    expect(byName.inverted).toMatchObject({ datatype: 'BOOL', data: [false, true] });
    expect(byName.wide).toMatchObject({ datatype: 'FP64', data: [0.5, -1, 1.75, 0, 2, 2.5, 3, 3.5] });
    expect(byName.half_out).toMatchObject({ datatype: 'FP16', data: [1, -2] });
    expect(byName.echo).toMatchObject({ datatype: 'BYTES', data: ['héllo', 'lodge'] });
  });

  it('returns requested outputs only, as binary when asked', async () => {
    const body = JSON.stringify({
      inputs: [
        ...jsonInputs.map((input) => ({ ...input })),
        { name: 'half', shape: [0], datatype: 'FP16', parameters: { binary_data_size: 0 } },
      ],
      outputs: [
        { name: 'scaled', parameters: { binary_data: true } },
        { name: 'echo', parameters: { binary_data: true } },
      ],
    });
    const head = Buffer.from(body);
    const response = await infer(head, { 'inference-header-content-length': String(head.length) });
    expect(response.status).toBe(200);
    const length = Number(response.headers.get('inference-header-content-length'));
    const bytes = Buffer.from(await response.arrayBuffer());
    const json = JSON.parse(bytes.subarray(0, length).toString()) as {
      outputs: { name: string; parameters: { binary_data_size: number } }[];
    };
    expect(json.outputs.map((output) => output.name)).toEqual(['scaled', 'echo']);
    const scaledSize = json.outputs[0]?.parameters.binary_data_size ?? 0;
    const scaled = new Float32Array(new Uint8Array(bytes.subarray(length, length + scaledSize)).buffer);
    expect([...scaled]).toEqual([2, -4, 7, 0, 8, 10, 12, 14]);
    const echo = bytes.subarray(length + scaledSize);
    expect(echo.readUInt32LE(0)).toBe(Buffer.byteLength('héllo'));
    expect(echo.subarray(4, 4 + Buffer.byteLength('héllo')).toString()).toBe('héllo');
  });

  it('answers shape, datatype and name errors with {"error"} and a 400', async () => {
    const withHalf = (inputs: object[]) => [
      ...inputs,
      { name: 'half', shape: [1], datatype: 'FP16', data: [1] },
    ];
    const send = async (inputs: object[], outputs?: object[]) => {
      const response = await infer(JSON.stringify({ inputs, ...(outputs ? { outputs } : {}) }));
      return { status: response.status, body: (await response.json()) as { error: string } };
    };
    const wrongCount = await send([{ ...jsonInputs[0], shape: [3, 4] }, ...jsonInputs.slice(1)]);
    expect(wrongCount).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/shape \[3, 4\] \(12 elements\) but 8 values/) },
    });
    expect((await send(withHalf(jsonInputs))).body.error).toMatch(/FP16 data cannot be sent as JSON/);
    const wrongType = await send([
      { ...jsonInputs[0], datatype: 'INT32', data: [1, 2, 3, 4, 5, 6, 7, 8] },
      ...jsonInputs.slice(1),
    ]);
    expect(wrongType.body.error).toMatch(/must be float32, not int32/);
    expect((await send([{ name: 'nope', shape: [1], datatype: 'FP32', data: [1] }])).body.error).toMatch(
      /no input "nope"/,
    );
    expect((await send([{ name: 'x', shape: [1], datatype: 'BF16', data: [1] }])).body.error).toMatch(/BF16/);
    const badJson = await infer('{"inputs": [');
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: string }).error).toMatch(/not valid JSON/);
    const unknownModel = await fetch(`${core.url}/v2/models/nope%2Fnope/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: jsonInputs }),
    });
    expect(unknownModel.status).toBe(404);
    expect(await unknownModel.json()).toEqual({ error: expect.stringMatching(/does not exist/) });
    const languageModel = await fetch(`${core.url}/v2/models/test%2Ftiny-lm/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: jsonInputs }),
    });
    expect(languageModel.status).toBe(400);
  });

  it('takes a gzip-compressed body', async () => {
    const { gzipSync } = await import('node:zlib');
    const head = Buffer.from(
      JSON.stringify({
        inputs: [
          ...jsonInputs,
          { name: 'half', shape: [0], datatype: 'FP16', parameters: { binary_data_size: 0 } },
        ],
        outputs: [{ name: 'next' }],
      }),
    );
    const response = await infer(gzipSync(head), {
      'content-encoding': 'gzip',
      'inference-header-content-length': String(head.length),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { outputs: unknown[] }).outputs).toHaveLength(1);
  });
  const errorOf = async (response: Response) => ({
    status: response.status,
    body: (await response.json()) as unknown,
  });

  it.each([
    ['null', 'null'],
    ['a null input', '{"inputs":[null]}'],
    ['outputs not an array', `{"inputs":${JSON.stringify(jsonInputs)},"outputs":"scaled"}`],
  ])('answers a header with %s with a 400 {"error"}', async (_what, body) => {
    expect(await errorOf(await infer(body))).toEqual({ status: 400, body: { error: expect.any(String) } });
  });

  it('refuses duplicate input names', async () => {
    const body = JSON.stringify({ inputs: [jsonInputs[1], jsonInputs[1]] });
    expect(await errorOf(await infer(body))).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/inputs\.1\.name: "ids" is named more than once/) },
    });
  });

  it.each([
    ['INT64', '1e300'],
    ['INT64', '12345678901234567890123456'],
    ['INT64', '9223372036854775808'],
    ['UINT64', '-1'],
    ['UINT8', '256'],
    ['INT8', '-129'],
    ['INT16', '32768'],
    ['INT32', '2147483648'],
    ['UINT32', '4294967296'],
    ['INT32', '1.5'],
    ['FP32', '1e300'],
  ])('refuses a %s value that does not fit: %s', async (datatype, value) => {
    const response = await infer(
      `{"inputs":[{"name":"v","shape":[1],"datatype":"${datatype}","data":[${value}]}]}`,
    );
    expect(await errorOf(response)).toEqual({
      status: 400,
      body: {
        error: expect.stringMatching(
          new RegExp(`Input "v" \\(${datatype}\\): .*(out of range|expected integers)`),
        ),
      },
    });
  });

  it('refuses BOOL values other than true/false/0/1, as JSON and as binary bytes', async () => {
    const json = await infer('{"inputs":[{"name":"flags","shape":[1],"datatype":"BOOL","data":[2]}]}');
    expect(await errorOf(json)).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/true or false/) },
    });
    const head = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'flags', shape: [1], datatype: 'BOOL', parameters: { binary_data_size: 1 } }],
      }),
    );
    const binary = await infer(Buffer.concat([head, Buffer.of(7)]), {
      'inference-header-content-length': String(head.length),
    });
    expect(await errorOf(binary)).toEqual({ status: 400, body: { error: expect.stringMatching(/0 or 1/) } });
  });

  it('refuses bytes past the declared binary inputs', async () => {
    const head = Buffer.from(JSON.stringify({ inputs: jsonInputs }));
    const response = await infer(Buffer.concat([head, Buffer.from('trailing')]), {
      'inference-header-content-length': String(head.length),
    });
    expect(await errorOf(response)).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/8 bytes past/) },
    });
  });

  it('answers garbage, truncated and unknown Content-Encoding with a 400', async () => {
    const { deflateSync, gzipSync } = await import('node:zlib');
    const gzipped = gzipSync(JSON.stringify({ inputs: jsonInputs }));
    for (const [body, encoding] of [
      [Buffer.from('not gzip at all'), 'gzip'],
      [gzipped.subarray(0, gzipped.length - 12), 'gzip'],
      [Buffer.from('not deflate'), 'deflate'],
      [deflateSync('{"inputs":[').subarray(0, 4), 'deflate'],
    ] as const) {
      expect(await errorOf(await infer(body, { 'content-encoding': encoding }))).toEqual({
        status: 400,
        body: { error: expect.stringMatching(/could not be decompressed/) },
      });
    }
    expect(await errorOf(await infer(gzipped, { 'content-encoding': 'br' }))).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/Content-Encoding "br" is not supported/) },
    });
  });

  it('answers a 300 MB gzip bomb with a 413, and keeps serving', async () => {
    const { gzipSync } = await import('node:zlib');
    // Gzip members concatenate: 300 members of 1 MiB of zeros are one 300 MiB stream in ~300 KB.
    const member = gzipSync(Buffer.alloc(1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 300 }, () => member));
    expect(await errorOf(await infer(bomb, { 'content-encoding': 'gzip' }))).toEqual({
      status: 413,
      body: { error: expect.stringMatching(/decompressed request body is larger .* \(256 MiB\)/) },
    });
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });
});
