import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { DownloadManager, DownloadView } from '../../hub/download-manager';
import { LodgeError } from '../../errors';
import { clientGone, openStream } from '../streaming';
import { modelName } from './options';
import type { ModelNameSchema } from './schemas';

/** Ollama's progress lines for a download's state. */
function statusLines(download: DownloadView): object[] {
  switch (download.status) {
    case 'downloading':
      return [
        {
          status: `pulling ${download.currentFile ?? download.repo}`,
          digest: `sha256:${download.revision}`,
          total: download.totalBytes,
          completed: download.downloadedBytes,
        },
      ];
    case 'verifying':
      return [{ status: 'verifying sha256 digest' }];
    case 'completed':
      return [{ status: 'writing manifest' }, { status: 'success' }];
    default:
      return [];
  }
}

/**
 * `POST /api/pull` on Lodge's download manager: `owner/repo[:variant]` from the Hugging Face hub,
 * with Ollama's NDJSON progress (or one reply when `stream` is false). A client that goes away
 * leaves the download running, as Ollama does.
 */
export async function pull(
  downloads: DownloadManager,
  body: z.output<typeof ModelNameSchema>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const name = modelName(body).replace(/:latest$/, '');
  const colon = name.lastIndexOf(':');
  const repo = colon > 0 ? name.slice(0, colon) : name;
  const variant = colon > 0 ? name.slice(colon + 1) : undefined;
  const started = await downloads.start({ repo, variant });
  const finished = new Promise<DownloadView>((resolve) => {
    const check = (download: DownloadView) => {
      if (
        download.id !== started.id ||
        !['completed', 'failed', 'cancelled', 'paused'].includes(download.status)
      )
        return;
      downloads.off('update', check);
      resolve(download);
    };
    downloads.on('update', check);
    check(downloads.view(started.id));
  });
  if (body.stream === false) {
    const end = await finished;
    if (end.status !== 'completed')
      throw new LodgeError('unavailable', end.error ?? `The download was ${end.status}.`);
    return reply.send({ status: 'success' });
  }
  const signal = clientGone(request, reply);
  const stream = openStream(request, reply, 'application/x-ndjson', signal);
  const write = (download: DownloadView) => {
    if (download.id !== started.id) return;
    for (const line of statusLines(download)) stream.write(`${JSON.stringify(line)}\n`);
  };
  stream.write(`${JSON.stringify({ status: 'pulling manifest' })}\n`);
  write(downloads.view(started.id));
  downloads.on('update', write);
  signal.addEventListener('abort', () => downloads.off('update', write));
  const end = await finished;
  downloads.off('update', write);
  if (end.status !== 'completed')
    stream.write(`${JSON.stringify({ error: end.error ?? `The download was ${end.status}.` })}\n`);
  stream.end();
  return reply;
}
