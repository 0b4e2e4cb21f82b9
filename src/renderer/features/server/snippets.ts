/** Code that calls this Lodge as pasted: curl, Python and JavaScript with the official SDKs. */
export function snippets(
  base: string,
  model: string,
  apiKey: string | null,
): { label: string; language: string; code: string }[] {
  const key = apiKey ?? 'lodge';
  const auth = apiKey ? ` \\\n  -H "Authorization: Bearer ${apiKey}"` : '';
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello.' }] });
  return [
    {
      label: 'curl (OpenAI API)',
      language: 'sh',
      code: `curl ${base}/v1/chat/completions${auth} \\\n  -H "Content-Type: application/json" \\\n  -d '${body}'`,
    },
    {
      label: 'curl (Ollama API)',
      language: 'sh',
      code: `curl ${base}/api/chat${auth} -d '${JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello.' }], stream: false })}'`,
    },
    {
      label: 'Python (openai)',
      language: 'python',
      code: `from openai import OpenAI\n\nclient = OpenAI(base_url="${base}/v1", api_key="${key}")\nreply = client.chat.completions.create(\n    model="${model}",\n    messages=[{"role": "user", "content": "Say hello."}],\n)\nprint(reply.choices[0].message.content)`,
    },
    {
      label: 'JavaScript (openai)',
      language: 'js',
      code: `import OpenAI from 'openai';\n\nconst client = new OpenAI({ baseURL: '${base}/v1', apiKey: '${key}' });\nconst reply = await client.chat.completions.create({\n  model: '${model}',\n  messages: [{ role: 'user', content: 'Say hello.' }],\n});\nconsole.log(reply.choices[0].message.content);`,
    },
  ];
}
