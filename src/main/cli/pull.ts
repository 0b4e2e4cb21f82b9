import type { DownloadView } from '../../shared/contract/hub';
import { liveEventSchemas } from '../../shared/live-events';
import { serverSentEvents } from '../../shared/sse';
import { CliError, type CoreClient } from './client';
import type { Output } from './output';
import { pulledRevision } from './revisions';
import { size } from './format';

const FINISHED: readonly DownloadView['status'][] = ['completed', 'failed', 'cancelled', 'paused'];

/** `lodge pull owner/repo[:variant]`: starts the download and follows it to the end. */
export async function pull(client: CoreClient, output: Output, name: string, isTty: boolean): Promise<void> {
  const colon = name.lastIndexOf(':');
  const repo = colon > 0 ? name.slice(0, colon) : name;
  const variant = colon > 0 ? name.slice(colon + 1) : undefined;
  // NOTE: the event stream opens before the download starts, so no progress event is missed, and
  // it is aborted on every way out: an open stream keeps the process alive long after an error.
  const stream = new AbortController();
  try {
    const events = await client.fetch(`${client.base}/app/events`, { signal: stream.signal });
    const started = await client.call('startDownload', { body: { repo, ...(variant ? { variant } : {}) } });
    output.err(`pulling ${repo} (${started.variant}, ${size(started.totalBytes)}) as ${started.modelId}\n`);
    let last: DownloadView = started;
    if (events.body && !FINISHED.includes(last.status)) {
      for await (const { event, data } of serverSentEvents(events.body)) {
        if (event !== 'download') continue;
        const download = liveEventSchemas.download.parse(JSON.parse(data));
        if (download.id !== started.id) continue;
        last = download;
        if (isTty) output.err(`\r\x1b[2K${progress(download)}`);
        if (FINISHED.includes(last.status)) break;
      }
    }
    if (isTty) output.err('\n');
    if (last.status !== 'completed') throw new CliError(last.error ?? `The download was ${last.status}.`);
    output.out(`pulled ${last.modelId}: ${await pulledRevision(client, last.modelId, last.revision)}\n`);
  } finally {
    stream.abort();
  }
}

function progress(download: DownloadView): string {
  const percent =
    download.totalBytes > 0 ? Math.floor((download.downloadedBytes / download.totalBytes) * 100) : 0;
  const eta = download.etaSeconds === null ? '' : `, ${download.etaSeconds}s left`;
  return `${download.status} ${percent}% ${size(download.downloadedBytes)}/${size(download.totalBytes)} ${size(download.bytesPerSecond)}/s${eta}`;
}
