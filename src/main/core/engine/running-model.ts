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
  /** The quantization made at load that its session runs (`quantize`); null: the variant as exported. */
  readonly quantized: 'q8' | 'q4' | null;
  /** Why a quantization asked for at load is not what runs; null otherwise. */
  readonly quantizeNote: string | null;
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
  /** Requests it serves now. */
  readonly active: number;
  /** Requests it serves at once at most (continuous batching of generations). */
  readonly parallel: number;
  /** Why a language model runs one generation at a time though more were asked for; null otherwise. */
  readonly batchingNote: string | null;
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
    quantized: info.quantized ?? null,
    quantizeNote: info.quantizeNote ?? null,
    provider: info.provider,
    skippedProviders: info.skipped,
    pid: slot.runner.pid ?? null,
    estimatedBytes: slot.estimatedBytes,
    loadedAt: slot.loadedAt,
    loadMs: info.loadMs,
    lastUsedAt: slot.lastUsedAt,
    busy: slot.running.length > 0,
    state: slot.state,
    queueLength: slot.queue.length,
    active: slot.running.length,
    parallel: slot.capacity,
    batchingNote: slot.batchingNote,
    expiresAt: slot.running.length > 0 ? null : slot.expiresAt,
    contextLength: info.contextLength,
  };
}
