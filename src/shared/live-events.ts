import { z } from 'zod';
import { DownloadSchema } from './contract/hub';
import { InferenceRecordSchema } from './contract/models';
import { SLOT_STATES, type SlotEvent } from './slot-state';

/** `import-progress`: how far the import of one model has copied. */
export const ImportProgressSchema = z.object({
  id: z.string(),
  doneBytes: z.number(),
  totalBytes: z.number(),
});

/** `slot`: a model's slot changed state (see {@link SlotEvent}). */
export const SlotEventSchema = z.object({
  id: z.string(),
  variant: z.string(),
  state: z.enum(SLOT_STATES),
  waiting: z.number(),
  active: z.number(),
  parallel: z.number(),
});

/** `models`: the ids whose library entry changed (added, edited, removed). */
export const ModelsChangedSchema = z.object({ ids: z.array(z.string()) });

/**
 * The events of `GET /app/events`, by name: `models`, `import-progress`, `download` (progress and
 * state), `inference` (one finished generation or embedding, as `/app/inferences` lists them) and
 * `slot` (a model's load state).
 */
export interface LiveEvents {
  models: z.output<typeof ModelsChangedSchema>;
  'import-progress': z.output<typeof ImportProgressSchema>;
  download: z.output<typeof DownloadSchema>;
  inference: z.output<typeof InferenceRecordSchema>;
  slot: SlotEvent;
}

/** The name of one live event. */
export type LiveEventName = keyof LiveEvents;

/** The schema of each live event's data, by name: readers check what arrives against it. */
export const liveEventSchemas: { readonly [K in LiveEventName]: z.ZodType<LiveEvents[K]> } = {
  models: ModelsChangedSchema,
  'import-progress': ImportProgressSchema,
  download: DownloadSchema,
  inference: InferenceRecordSchema,
  slot: SlotEventSchema,
};

/** Whether an SSE `event:` name is one of the live events. */
export function isLiveEventName(name: string | null): name is LiveEventName {
  return name !== null && Object.hasOwn(liveEventSchemas, name);
}
