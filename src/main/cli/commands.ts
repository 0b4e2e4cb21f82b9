import { isAbsolute, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { DownloadView } from '../../shared/contract/hub';
import { liveEventSchemas } from '../../shared/live-events';
import { OllamaChatStreamLineSchema } from '../../shared/ollama-stream';
import { serverSentEvents } from '../../shared/sse';
import { CliError, type CoreClient } from './client';
import { relative, size, table } from './format';

/** Where a command writes. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** `lodge ls`: the library. */
export async function list(client: CoreClient, output: Output): Promise<void> {
  const { models } = await client.call('models');
  output.out(
    `${table(
      ['NAME', 'TASK', 'VARIANTS', 'SIZE', 'STATUS', 'MODIFIED'],
      models.map((model) => [
        model.alias ? `${model.id} (${model.alias})` : model.id,
        model.task,
        model.variants.map((variant) => variant.name).join(','),
        size(model.totalBytes),
        model.status,
        relative(model.lastUsedAt ?? model.addedAt),
      ]),
    )}\n`,
  );
}

/** `lodge ps`: loaded models. */
export async function running(client: CoreClient, output: Output): Promise<void> {
  const { models } = await client.call('runners');
  output.out(
    `${table(
      ['NAME', 'PROVIDER', 'MEMORY', 'UNTIL'],
      models.map((model) => [
        model.id,
        model.provider,
        size(model.rssBytes ?? model.estimatedBytes),
        model.busy ? 'busy' : model.expiresAt === null ? 'forever' : relative(model.expiresAt),
      ]),
    )}\n`,
  );
}

/** `lodge import PATH [--in-place] [--id owner/name]`. */
export async function importModel(
  client: CoreClient,
  output: Output,
  path: string,
  options: { inPlace: boolean; id?: string | undefined },
): Promise<void> {
  const absolute = isAbsolute(path) ? path : resolve(path);
  output.err(`importing ${absolute}…\n`);
  const model = await client.call('importModel', {
    body: {
      path: absolute,
      mode: options.inPlace ? 'in-place' : 'copy',
      ...(options.id ? { id: options.id } : {}),
    },
  });
  output.out(`imported ${model.id} (${model.task}, ${size(model.totalBytes)})\n`);
}

/** `lodge rm MODEL`. */
export async function remove(client: CoreClient, output: Output, name: string): Promise<void> {
  const [owner, model] = name.includes('/') ? name.split('/', 2) : ['local', name];
  const result = await client.call('deleteModel', { params: { owner: owner ?? '', name: model ?? '' } });
  output.out(
    result.filesRemoved
      ? `deleted ${result.id}\n`
      : `removed ${result.id} from the library; its files stay where they are\n`,
  );
}

/** `lodge pull owner/repo[:variant]`: starts the download and follows it to the end. */
export async function pull(client: CoreClient, output: Output, name: string, isTty: boolean): Promise<void> {
  const colon = name.lastIndexOf(':');
  const repo = colon > 0 ? name.slice(0, colon) : name;
  const variant = colon > 0 ? name.slice(colon + 1) : undefined;
  const events = await client.fetch(`${client.base}/app/events`);
  const started = await client.call('startDownload', { body: { repo, ...(variant ? { variant } : {}) } });
  output.err(`pulling ${repo} (${started.variant}, ${size(started.totalBytes)}) as ${started.modelId}\n`);
  const show = (download: DownloadView) => {
    const percent =
      download.totalBytes > 0 ? Math.floor((download.downloadedBytes / download.totalBytes) * 100) : 0;
    const eta = download.etaSeconds === null ? '' : `, ${download.etaSeconds}s left`;
    const line = `${download.status} ${percent}% ${size(download.downloadedBytes)}/${size(download.totalBytes)} ${size(download.bytesPerSecond)}/s${eta}`;
    if (isTty) output.err(`\r\x1b[2K${line}`);
  };
  let last: DownloadView = started;
  const finished = () => ['completed', 'failed', 'cancelled', 'paused'].includes(last.status);
  if (events.body && !finished())
    for await (const { event, data } of serverSentEvents(events.body)) {
      if (event !== 'download') continue;
      const download = liveEventSchemas.download.parse(JSON.parse(data));
      if (download.id !== started.id) continue;
      last = download;
      show(download);
      if (finished()) break;
    }
  if (isTty) output.err('\n');
  if (last.status !== 'completed') throw new CliError(last.error ?? `The download was ${last.status}.`);
  output.out(`pulled ${last.modelId}\n`);
}

/** `lodge run MODEL [PROMPT]`: one answer, or an interactive chat (Ctrl+C stops an answer, /bye quits). */
export async function run(
  client: CoreClient,
  output: Output,
  model: string,
  prompt: string | undefined,
  input: NodeJS.ReadableStream,
  isTty: boolean,
): Promise<void> {
  const history: { role: 'user' | 'assistant'; content: string }[] = [];
  const ask = async (text: string, signal?: AbortSignal) => {
    history.push({ role: 'user', content: text });
    const response = await client.fetch(`${client.base}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model, messages: history, stream: true }),
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) {
      history.pop();
      const body = (await response.json().catch(() => ({}))) as { error?: string };
      throw new CliError(body.error ?? `Lodge answered ${response.status}.`);
    }
    let answer = '';
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body ?? []) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
          const line = OllamaChatStreamLineSchema.parse(JSON.parse(buffer.slice(0, end)));
          buffer = buffer.slice(end + 1);
          if ('error' in line) throw new CliError(line.error);
          const piece = line.message.content;
          answer += piece;
          output.out(piece);
        }
      }
    } catch (error) {
      if (!signal?.aborted) throw error;
    }
    output.out('\n');
    history.push({ role: 'assistant', content: answer });
  };

  if (prompt !== undefined) {
    await ask(prompt);
    return;
  }
  // NOTE: read lines through the async iterator: it buffers piped input that arrives while an
  // answer streams, where question() would drop those lines and then wait forever.
  const lines = createInterface({
    input,
    ...(isTty ? { output: process.stdout, terminal: true } : { terminal: false }),
  });
  let current: AbortController | null = null;
  lines.on('SIGINT', () => {
    if (current) current.abort();
    else lines.close();
  });
  lines.setPrompt('>>> ');
  if (isTty) lines.prompt();
  try {
    for await (const text of lines) {
      if (text.trim() === '/bye') break;
      if (text.trim() !== '') {
        current = new AbortController();
        await ask(text, current.signal);
        current = null;
      }
      if (isTty) lines.prompt();
    }
  } finally {
    lines.close();
  }
}
