/** One piece of code or configuration the Server view shows with a Copy button. */
export interface Snippet {
  readonly label: string;
  readonly language: 'sh' | 'python' | 'js' | 'toml';
  readonly code: string;
}

/** The snippets for one API family: curl, Python and JavaScript. */
export interface SnippetFamily {
  /** Stable, for test ids and the family picker: `openai-chat`, `responses`, `anthropic`, `ollama`, `kserve`. */
  readonly id: string;
  readonly name: string;
  readonly snippets: readonly Snippet[];
}

/** The models the snippets name: a chat model, and a plain ONNX model to send tensors to over KServe. */
export interface SnippetModels {
  readonly chat: string;
  readonly tensors: string;
}

const PROMPT = 'Say hello.';
const MESSAGES = [{ role: 'user', content: PROMPT }];

const ZEROS_COMMENT =
  "// Zeros in every input's shape (a free dimension, -1, taken as 1): put your data in their place.";
const FP16_COMMENT = '// FP16 has no JSON form: its values follow the JSON header as bytes (2 each).';

/** A `-H` line of a curl command, continued from the line before. */
const header = (name: string, value: string) => ` \\\n  -H "${name}: ${value}"`;

/**
 * Code that calls this Lodge as pasted, for every API family it serves: curl, Python and
 * JavaScript (the official SDK of the family where there is one), with the server's address and,
 * when one is given, its API key; without a key the SDKs get a placeholder, which Lodge ignores.
 */
export function snippets(base: string, models: SnippetModels, apiKey: string | null): SnippetFamily[] {
  const key = apiKey ?? 'lodge';
  const bearer = apiKey ? header('Authorization', `Bearer ${apiKey}`) : '';
  const json = header('Content-Type', 'application/json');
  const model = models.chat;
  const tensorsUrl = `${base}/v2/models/${encodeURIComponent(models.tensors)}`;
  return [
    {
      id: 'openai-chat',
      name: 'OpenAI Chat Completions',
      snippets: [
        {
          label: 'curl',
          language: 'sh',
          code: `curl ${base}/v1/chat/completions${bearer}${json} \\\n  -d '${JSON.stringify({ model, messages: MESSAGES })}'`,
        },
        {
          label: 'Python (openai)',
          language: 'python',
          code: `from openai import OpenAI\n\nclient = OpenAI(base_url="${base}/v1", api_key="${key}")\nreply = client.chat.completions.create(\n    model="${model}",\n    messages=[{"role": "user", "content": "${PROMPT}"}],\n)\nprint(reply.choices[0].message.content)`,
        },
        {
          label: 'JavaScript (openai)',
          language: 'js',
          code: `import OpenAI from 'openai';\n\nconst client = new OpenAI({ baseURL: '${base}/v1', apiKey: '${key}' });\nconst reply = await client.chat.completions.create({\n  model: '${model}',\n  messages: [{ role: 'user', content: '${PROMPT}' }],\n});\nconsole.log(reply.choices[0].message.content);`,
        },
      ],
    },
    {
      id: 'responses',
      name: 'OpenAI Responses',
      snippets: [
        {
          label: 'curl',
          language: 'sh',
          code: `curl ${base}/v1/responses${bearer}${json} \\\n  -d '${JSON.stringify({ model, input: PROMPT })}'`,
        },
        {
          label: 'Python (openai)',
          language: 'python',
          code: `from openai import OpenAI\n\nclient = OpenAI(base_url="${base}/v1", api_key="${key}")\nreply = client.responses.create(model="${model}", input="${PROMPT}")\nprint(reply.output_text)`,
        },
        {
          label: 'JavaScript (openai)',
          language: 'js',
          code: `import OpenAI from 'openai';\n\nconst client = new OpenAI({ baseURL: '${base}/v1', apiKey: '${key}' });\nconst reply = await client.responses.create({ model: '${model}', input: '${PROMPT}' });\nconsole.log(reply.output_text);`,
        },
      ],
    },
    {
      id: 'anthropic',
      name: 'Anthropic Messages',
      snippets: [
        {
          label: 'curl',
          language: 'sh',
          code: `curl ${base}/v1/messages${apiKey ? header('x-api-key', apiKey) : ''}${header('anthropic-version', '2023-06-01')}${json} \\\n  -d '${JSON.stringify({ model, max_tokens: 256, messages: MESSAGES })}'`,
        },
        {
          label: 'Python (anthropic)',
          language: 'python',
          code: `from anthropic import Anthropic\n\nclient = Anthropic(base_url="${base}", api_key="${key}")\nreply = client.messages.create(\n    model="${model}",\n    max_tokens=256,\n    messages=[{"role": "user", "content": "${PROMPT}"}],\n)\nprint(reply.content[0].text)`,
        },
        {
          label: 'JavaScript (@anthropic-ai/sdk)',
          language: 'js',
          code: `import Anthropic from '@anthropic-ai/sdk';\n\nconst client = new Anthropic({ baseURL: '${base}', apiKey: '${key}' });\nconst reply = await client.messages.create({\n  model: '${model}',\n  max_tokens: 256,\n  messages: [{ role: 'user', content: '${PROMPT}' }],\n});\nconsole.log(reply.content[0].text);`,
        },
      ],
    },
    {
      id: 'ollama',
      name: 'Ollama',
      snippets: [
        {
          label: 'curl',
          language: 'sh',
          code: `curl ${base}/api/chat${bearer} -d '${JSON.stringify({ model, messages: MESSAGES, stream: false })}'`,
        },
        {
          label: 'Python (ollama)',
          language: 'python',
          code: `from ollama import Client\n\nclient = Client(host="${base}"${apiKey ? `, headers={"Authorization": "Bearer ${apiKey}"}` : ''})\nreply = client.chat(model="${model}", messages=[{"role": "user", "content": "${PROMPT}"}])\nprint(reply.message.content)`,
        },
        {
          label: 'JavaScript (ollama)',
          language: 'js',
          code: `import { Ollama } from 'ollama';\n\nconst client = new Ollama({ host: '${base}'${apiKey ? `, headers: { Authorization: 'Bearer ${apiKey}' }` : ''} });\nconst reply = await client.chat({ model: '${model}', messages: [{ role: 'user', content: '${PROMPT}' }] });\nconsole.log(reply.message.content);`,
        },
      ],
    },
    {
      id: 'kserve',
      name: 'KServe v2',
      snippets: [
        {
          label: 'curl (the model’s inputs and outputs)',
          language: 'sh',
          code: `curl ${tensorsUrl}${bearer}`,
        },
        {
          label: 'Python (standard library)',
          language: 'python',
          code: [
            'import json',
            'import urllib.request',
            '',
            `MODEL = "${tensorsUrl}"`,
            `AUTH = {${apiKey ? `"Authorization": "Bearer ${apiKey}"` : ''}}`,
            '',
            '',
            'def call(path="", body=None, headers=None):',
            '    request = urllib.request.Request(MODEL + path, body, {**AUTH, **(headers or {})})',
            '    with urllib.request.urlopen(request) as response:',
            '        return json.load(response)',
            '',
            '',
            ZEROS_COMMENT.replace('//', '#'),
            FP16_COMMENT.replace('//', '#'),
            'inputs, binary = [], b""',
            'for tensor in call()["inputs"]:',
            '    shape = [1 if size < 0 else size for size in tensor["shape"]]',
            '    count = 1',
            '    for size in shape:',
            '        count *= size',
            '    entry = {"name": tensor["name"], "shape": shape, "datatype": tensor["datatype"]}',
            '    if tensor["datatype"] == "FP16":',
            '        binary += bytes(2 * count)',
            '        entry["parameters"] = {"binary_data_size": 2 * count}',
            '    else:',
            '        entry["data"] = [{"BOOL": False, "BYTES": ""}.get(tensor["datatype"], 0)] * count',
            '    inputs.append(entry)',
            'header = json.dumps({"inputs": inputs}).encode()',
            'reply = call("/infer", header + binary, {',
            '    "Content-Type": "application/octet-stream",',
            '    "Inference-Header-Content-Length": str(len(header)),',
            '})',
            'print(reply["outputs"])',
          ].join('\n'),
        },
        {
          label: 'JavaScript (fetch)',
          language: 'js',
          code: [
            `const model = '${tensorsUrl}';`,
            `const auth = {${apiKey ? ` Authorization: 'Bearer ${apiKey}' ` : ''}};`,
            'const metadata = await (await fetch(model, { headers: auth })).json();',
            ZEROS_COMMENT,
            FP16_COMMENT,
            'const binary = [];',
            'const inputs = metadata.inputs.map(({ name, shape, datatype }) => {',
            '  const dims = shape.map((size) => (size < 0 ? 1 : size));',
            '  const count = dims.reduce((a, b) => a * b, 1);',
            "  if (datatype === 'FP16') {",
            '    binary.push(new Uint8Array(2 * count));',
            '    return { name, shape: dims, datatype, parameters: { binary_data_size: 2 * count } };',
            '  }',
            "  const zero = datatype === 'BOOL' ? false : datatype === 'BYTES' ? '' : 0;",
            '  return { name, shape: dims, datatype, data: new Array(count).fill(zero) };',
            '});',
            'const header = new TextEncoder().encode(JSON.stringify({ inputs }));',
            'const reply = await fetch(`${model}/infer`, {',
            "  method: 'POST',",
            "  headers: { ...auth, 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },",
            '  body: new Blob([header, ...binary]),',
            '});',
            'if (!reply.ok) throw new Error(await reply.text());',
            'console.log((await reply.json()).outputs);',
          ].join('\n'),
        },
      ],
    },
  ];
}

/**
 * What a user types to point a coding agent at this Lodge: Claude Code speaks the Anthropic
 * Messages API, Codex the OpenAI Responses API.
 */
export function agentSetups(base: string, model: string, apiKey: string | null): Snippet[] {
  const key = apiKey ?? 'lodge';
  return [
    {
      label: 'Use with Claude Code',
      language: 'sh',
      code: `ANTHROPIC_BASE_URL=${base} ANTHROPIC_AUTH_TOKEN=${key} ANTHROPIC_MODEL=${model} claude`,
    },
    {
      label: 'Use with Codex (~/.codex/config.toml)',
      language: 'toml',
      code: `model = "${model}"\nmodel_provider = "lodge"\n\n[model_providers.lodge]\nname = "Lodge"\nbase_url = "${base}/v1"\nwire_api = "responses"${apiKey ? `\n# Run codex with the key in the environment: LODGE_API_KEY=${apiKey} codex\nenv_key = "LODGE_API_KEY"` : ''}`,
    },
  ];
}
