import type { DownloadStatus } from '../db/download-repository';

/**
 * Every move a download may make, and only these (the download manager checks each one):
 *
 * ```
 * queued ──▶ downloading ──▶ verifying ──▶ completed
 *   ▲  │          │  │           │  │
 *   │  ▼          │  └──▶ failed ◀┘  │        failed, paused ──▶ queued (resume)
 *   │ paused ◀────┴──────────────────┘        downloading, verifying ──▶ queued (shutdown, restart)
 *   └──────────────────────────────────        anything unfinished ──▶ cancelled (files deleted)
 * ```
 *
 * `completed` and `cancelled` are final.
 */
export const DOWNLOAD_TRANSITIONS: Readonly<Record<DownloadStatus, readonly DownloadStatus[]>> = {
  queued: ['downloading', 'paused', 'cancelled'],
  downloading: ['verifying', 'paused', 'failed', 'cancelled', 'queued'],
  verifying: ['completed', 'paused', 'failed', 'cancelled', 'queued'],
  paused: ['queued', 'cancelled'],
  failed: ['queued', 'cancelled'],
  completed: [],
  cancelled: [],
};

/** Whether a download may move from `from` to `to` (staying put is always allowed). */
export function canMove(from: DownloadStatus, to: DownloadStatus): boolean {
  return from === to || DOWNLOAD_TRANSITIONS[from].includes(to);
}
