import type { FastifyInstance } from 'fastify';
import type { LiveEventName, LiveEvents } from '../../../../shared/live-events';
import type { SlotEvent } from '../../../../shared/slot-state';
import type { Engine } from '../../engine/engine';
import type { DownloadManager, DownloadView } from '../../hub/download-manager';
import type { ModelCatalog } from '../../library/model-catalog';
import type { InferenceLog } from '../../metrics/inference-log';
import { clientGone, openStream } from '../streaming';
import { boundedStream, MAX_UNREAD_BYTES } from './bounded-stream';

/** Keeps idle SSE connections (and proxies) open. */
const HEARTBEAT_MS = 15_000;

/**
 * `GET /app/events`: state changes as Server-Sent Events, for the UI and scripts:
 * `models` (ids that changed), `import-progress`, `download` (progress and state), `inference`,
 * and `slot` (a model's load state, {@link SlotEvent}: every current slot on connect, then each
 * change). The streams end when the server closes, so they never hold a shutdown up, and a reader
 * that falls more than {@link MAX_UNREAD_BYTES} behind is disconnected.
 */
export function registerEventStream(
  app: FastifyInstance,
  catalog: ModelCatalog,
  inferences: InferenceLog,
  downloads: DownloadManager,
  engine: Engine,
): void {
  // Each open stream's cleanup: unsubscribes and ends it.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });
  app.get('/app/events', { schema: { tags: ['app'] } }, (request, reply) => {
    const stream = boundedStream(
      openStream(request, reply, 'text/event-stream; charset=utf-8', clientGone(request, reply)),
      reply.raw,
      MAX_UNREAD_BYTES,
      (bufferedBytes) => {
        request.log.warn({ bufferedBytes }, 'closed an /app/events stream whose reader stopped reading');
        close();
      },
    );
    const send = <K extends LiveEventName>(event: K, data: LiveEvents[K]) =>
      stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const onModels = (ids: string[]) => send('models', { ids });
    const onProgress = (progress: { id: string; doneBytes: number; totalBytes: number }) =>
      send('import-progress', progress);
    catalog.on('changed', onModels);
    catalog.on('import-progress', onProgress);
    const onDownload = (download: DownloadView) =>
      send('download', { ...download, files: [...download.files] });
    downloads.on('update', onDownload);
    const unsubscribe = inferences.subscribe((record) => send('inference', record));
    const onSlot = (slot: SlotEvent) => send('slot', slot);
    const unsubscribeSlots = engine.onSlot(onSlot);
    const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
    open.add(close);
    stream.write(': connected\n\n');
    for (const slot of engine.slots()) onSlot(slot);
    function close(): void {
      if (!open.delete(close)) return;
      clearInterval(heartbeat);
      catalog.off('changed', onModels);
      catalog.off('import-progress', onProgress);
      downloads.off('update', onDownload);
      unsubscribe();
      unsubscribeSlots();
      stream.end();
    }
    stream.signal.addEventListener('abort', close, { once: true });
    return reply;
  });
}
