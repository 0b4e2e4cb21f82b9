import type { RescanResult } from '../../../shared/contract/models';

/** What a rescan of the models folder changed, in one sentence for the Library. */
export function rescanNotice(result: Pick<RescanResult, 'added' | 'missing' | 'restored'>): string {
  const parts = [
    result.added.length > 0 ? `added ${result.added.join(', ')}` : null,
    result.missing.length > 0 ? `files missing for ${result.missing.join(', ')}` : null,
    result.restored.length > 0 ? `files back for ${result.restored.join(', ')}` : null,
  ].filter((part) => part !== null);
  return parts.length === 0
    ? 'Rescanned the models folder: nothing changed.'
    : `Rescanned the models folder: ${parts.join('; ')}.`;
}
