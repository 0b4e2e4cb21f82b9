import { ModelParamsSchema } from './contract/library';
import { PruneResultSchema, RevisionListSchema, RevisionParamsSchema } from './contract/revisions';

/**
 * The app API's routes for a model's revisions: list, activate, pin and unpin, delete one, and the
 * cleanup that deletes every revision neither active nor pinned. Each answers the list as it is after.
 */
export const revisionRoutes = {
  revisions: {
    method: 'GET',
    path: '/app/models/:owner/:name/revisions',
    params: ModelParamsSchema,
    response: RevisionListSchema,
  },
  activateRevision: {
    method: 'POST',
    path: '/app/models/:owner/:name/revisions/:revision/activate',
    params: RevisionParamsSchema,
    response: RevisionListSchema,
  },
  pinRevision: {
    method: 'PUT',
    path: '/app/models/:owner/:name/revisions/:revision/pin',
    params: RevisionParamsSchema,
    response: RevisionListSchema,
  },
  unpinRevision: {
    method: 'DELETE',
    path: '/app/models/:owner/:name/revisions/:revision/pin',
    params: RevisionParamsSchema,
    response: RevisionListSchema,
  },
  deleteRevision: {
    method: 'DELETE',
    path: '/app/models/:owner/:name/revisions/:revision',
    params: RevisionParamsSchema,
    response: RevisionListSchema,
  },
  pruneRevisions: {
    method: 'POST',
    path: '/app/models/:owner/:name/revisions/prune',
    params: ModelParamsSchema,
    response: PruneResultSchema,
  },
} as const;
