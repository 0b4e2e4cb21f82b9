import { z } from 'zod';
import { ModelSourceSchema } from './library';

/** One kept version of a model, as the app API lists it. */
export const RevisionSchema = z.object({
  /** The hub's commit (40 hex digits), or for an imported folder the SHA-256 of its files (64). */
  revision: z.string(),
  /** Its first 7 characters, as lists and `model@abc1234` use them. */
  short: z.string(),
  active: z.boolean(),
  /** A pinned revision is never deleted by a cleanup, nor by a delete until it is unpinned. */
  pinned: z.boolean(),
  /** Whether a runner has it loaded now. */
  loaded: z.boolean(),
  bytes: z.number(),
  addedAt: z.iso.datetime(),
  committedAt: z.string().nullable(),
  source: ModelSourceSchema,
});

/** Parsed form of {@link RevisionSchema}. */
export type Revision = z.infer<typeof RevisionSchema>;

/**
 * `GET /app/models/:owner/:name/revisions` and the reply of every change to them: the model's
 * revisions, oldest first, and the bytes they take on disk together (a file two revisions share
 * counts once).
 */
export const RevisionListSchema = z.object({
  model: z.string(),
  revisions: z.array(RevisionSchema),
  diskBytes: z.number(),
});

/** Parsed form of {@link RevisionListSchema}. */
export type RevisionList = z.infer<typeof RevisionListSchema>;

/** `POST /app/models/:owner/:name/revisions/prune` reply: what the cleanup deleted, and what is left. */
export const PruneResultSchema = RevisionListSchema.extend({ deleted: z.array(z.string()) });

/** The path parameters of one revision's routes. */
export const RevisionParamsSchema = z.object({
  owner: z.string().min(1),
  name: z.string().min(1),
  revision: z.string().min(1).max(64),
});
