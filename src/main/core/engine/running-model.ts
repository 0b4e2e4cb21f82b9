import type { ExecutionProvider } from '../../../shared/engine';
import type { LoadedInfo } from '../../../shared/runner-protocol';
import type { SlotState } from '../../../shared/slot-state';
import type { ModelRecord, ModelVariant } from '../library/model-record';
import type { Slot } from './slot';

/** A loaded model as the running list shows it. */
export interface RunningModel {
  readonly id: string;
  readonly task: ModelRecord['task'];
  readonly variant: ModelVariant['name'];
  readonly provider: ExecutionProvider;
  readonly skippedProviders: LoadedInfo['skipped'];
  readonly pid: number | null;
  readonly estimatedBytes: number;
  readonly loadedAt: number;
  readonly loadMs: number;
  readonly lastUsedAt: number;
  readonly busy: boolean;
  readonly state: SlotState;
  readonly queueLength: number;
  /** When it unloads if no request comes; null while busy or when kept loaded forever. */
  readonly expiresAt: number | null;
  readonly contextLength: number | null;
}

/** A slot as the running list shows it; null while it is still loading. */
export function runningModel(slot: Slot): RunningModel | null {
  const info = slot.info;
  if (info === null) return null;
  return {
    id: slot.record.id,
    task: slot.record.task,
    variant: slot.variant.name,
    provider: info.provider,
    skippedProviders: info.skipped,
    pid: slot.runner.pid ?? null,
    estimatedBytes: slot.estimatedBytes,
    loadedAt: slot.loadedAt,
    loadMs: info.loadMs,
    lastUsedAt: slot.lastUsedAt,
    busy: slot.current !== null,
    state: slot.state,
    queueLength: slot.queue.length,
    expiresAt: slot.current !== null ? null : slot.expiresAt,
    contextLength: info.contextLength,
  };
}
