import { expect } from 'vitest';

/** A download as `/app/downloads` lists it: enough to tell how it ended. */
export interface SettledDownload {
  readonly id: string;
  readonly status: string;
  readonly error: string | null;
}

/**
 * Starts a download through a core's API (`POST /app/downloads` with `body`), expects it accepted,
 * and waits until it reaches `status`; answers the download as it was then.
 */
export async function downloadUntil(baseUrl: string, body: object, status: string): Promise<SettledDownload> {
  const started = await fetch(`${baseUrl}/app/downloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(started.status).toBe(200);
  const { id } = (await started.json()) as { id: string };
  let last: SettledDownload | undefined;
  await expect
    .poll(
      async () => {
        const list = (await (await fetch(`${baseUrl}/app/downloads`)).json()) as {
          downloads: SettledDownload[];
        };
        last = list.downloads.find((download) => download.id === id);
        return last?.status;
      },
      { timeout: 20_000 },
    )
    .toBe(status);
  if (last === undefined) throw new Error(`download ${id} vanished`);
  return last;
}
