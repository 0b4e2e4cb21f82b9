import type { DownloadView } from '../../shared/contract/hub';
import type { SlotState } from '../../shared/slot-state';
import type { CoreEventStream } from './core-events';
import type { Toasts } from './toasts.svelte';

/**
 * Turns the core's live `download` and `slot` events into toasts: a download started, finished or
 * failed; a model loading, loaded, unloaded. Only changes of state make a toast (progress events do
 * not). Returns the function that stops listening.
 */
export function toastActivity(events: CoreEventStream, toasts: Toasts): () => void {
  const downloads = new Map<string, DownloadView['status']>();
  const slots = new Map<string, SlotState>();

  const stopDownloads = events.on('download', (download) => {
    const before = downloads.get(download.id);
    downloads.set(download.id, download.status);
    if (before === download.status) return;
    const key = `download:${download.id}`;
    const name = download.modelId;
    switch (download.status) {
      case 'queued':
      case 'downloading':
        if (before === undefined || before === 'paused' || before === 'failed')
          toasts.show({ key, tone: 'progress', title: `Downloading ${name}`, detail: download.variant });
        return;
      case 'completed':
        toasts.show({ key, tone: 'success', title: `Downloaded ${name}`, detail: 'Ready in the Library' });
        return;
      case 'failed':
        toasts.show({ key, tone: 'danger', title: `Download of ${name} failed`, detail: download.error });
        return;
      case 'cancelled':
        toasts.show({ key, tone: 'info', title: `Download of ${name} cancelled`, detail: null });
        return;
      case 'paused':
        toasts.show({ key, tone: 'info', title: `Download of ${name} paused`, detail: null });
        return;
      case 'verifying':
        return;
    }
  });

  const stopSlots = events.on('slot', (slot) => {
    const before = slots.get(slot.id);
    slots.set(slot.id, slot.state);
    if (before === slot.state) return;
    const key = `slot:${slot.id}`;
    if (slot.state === 'loading')
      toasts.show({ key, tone: 'progress', title: `Loading ${slot.id}`, detail: slot.variant });
    else if (slot.state === 'ready' && before === 'loading')
      toasts.show({ key, tone: 'success', title: `Loaded ${slot.id}`, detail: slot.variant });
    else if (slot.state === 'unloading') {
      toasts.show({ key, tone: 'info', title: `Unloaded ${slot.id}`, detail: null });
      slots.delete(slot.id);
    }
  });

  return () => {
    stopDownloads();
    stopSlots();
  };
}
