import { describe, expect, it } from 'vitest';
import { DOWNLOAD_STATUSES, type DownloadStatus } from '../../../../src/main/core/db/download-repository';
import { canMove } from '../../../../src/main/core/hub/download-states';

describe('download transitions', () => {
  it('lets a download run, pause, resume, fail, retry and finish', () => {
    const path: DownloadStatus[] = [
      'queued',
      'downloading',
      'paused',
      'queued',
      'downloading',
      'failed',
      'queued',
    ];
    for (const [index, to] of path.entries()) {
      const from = path[index - 1];
      if (from !== undefined) expect(canMove(from, to), `${from} → ${to}`).toBe(true);
    }
    expect(canMove('downloading', 'verifying')).toBe(true);
    expect(canMove('verifying', 'completed')).toBe(true);
  });

  it('keeps completed and cancelled final, and never skips verification', () => {
    for (const status of DOWNLOAD_STATUSES) {
      if (status !== 'completed') expect(canMove('completed', status)).toBe(false);
      if (status !== 'cancelled') expect(canMove('cancelled', status)).toBe(false);
    }
    expect(canMove('downloading', 'completed')).toBe(false);
    expect(canMove('queued', 'completed')).toBe(false);
    expect(canMove('paused', 'downloading')).toBe(false);
  });
});
