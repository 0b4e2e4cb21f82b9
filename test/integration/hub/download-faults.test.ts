import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/main/core/db/connection';
import { DownloadRepository } from '../../../src/main/core/db/download-repository';
import { migrate } from '../../../src/main/core/db/migrate';
import { migrations } from '../../../src/main/core/db/migrations';
import { ModelRepository } from '../../../src/main/core/db/model-repository';
import { DownloadManager, type DownloadView } from '../../../src/main/core/hub/download-manager';
import { HubClient } from '../../../src/main/core/hub/hub-client';
import { ModelCatalog } from '../../../src/main/core/library/model-catalog';
import { FakeHub } from '../../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { startTestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

/**
 * A download manager of its own on a real SQLite file in `dataDir`, fetching from `hubUrl` and
 * following its redirects to the `trusted` origins (the fake hub's CDN is on loopback too).
 */
function managerIn(
  dataDir: string,
  hubUrl: string,
  trusted: readonly string[],
): { manager: DownloadManager; db: Db } {
  const db = openDatabase(join(dataDir, 'lodge.db'));
  migrate(db, migrations);
  const logger = pino({ level: 'silent' });
  const manager = new DownloadManager({
    hub: new HubClient({ endpoint: () => hubUrl, token: () => null, trustedOrigins: () => trusted }),
    repository: new DownloadRepository(db),
    catalog: new ModelCatalog(join(dataDir, 'models'), new ModelRepository(db), logger),
    downloadsDir: join(dataDir, 'downloads'),
    modelsDir: join(dataDir, 'models'),
    logger,
    freeBytes: () => 1024 ** 4,
    retryDelayMs: 1,
  });
  return { manager, db };
}

/** The download once it reached one of `statuses`, and the most bytes any of its updates showed. */
async function settled(
  manager: DownloadManager,
  id: string,
  statuses: readonly string[],
): Promise<DownloadView> {
  await expect
    .poll(() => manager.view(id).status, { timeout: 20_000 })
    .toSatisfy((status: string) => statuses.includes(status));
  return manager.view(id);
}

/** Asserts that what a client is shown names no absolute path and no network address. */
function expectNothingInternal(text: string, dataDir: string): void {
  expect(text).not.toContain(dataDir);
  expect(text).not.toMatch(/\/(?:tmp|root|home|var)\//);
  expect(text).not.toMatch(/\b127\.0\.0\.1\b|\blocalhost\b|:\d{2,5}\b/);
  expect(text).not.toMatch(/\b(?:ECONNREFUSED|EACCES|ENOENT|ENOTDIR|EEXIST)\b/);
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a download whose database writes fail', () => {
  it('does not crash the core: the failed write is logged and the download shows how it ended', async () => {
    const dir = tempDir();
    const hub = await FakeHub.start([{ id: 'acme/tiny', dir: fixturePath(TINY_LM) }]);
    const { manager, db } = managerIn(dir.path, hub.url, [hub.cdnUrl]);
    try {
      const started = await manager.start({ repo: 'acme/tiny' });
      // From here on, every write the download makes is refused by SQLite (a read-only database).
      db.pragma('query_only = ON');
      const done = await settled(manager, started.id, ['failed', 'completed']);
      // The install could not record the model: the download failed, in words, and nothing broke.
      expect(done.status).toBe('failed');
      expect(done.error).toMatch(/The download of acme\/tiny failed: the database is read-only/);
      expectNothingInternal(done.error ?? '', dir.path);
      db.pragma('query_only = OFF');
    } finally {
      await manager.dispose();
      db.close();
      await hub.close();
      dir.remove();
    }
  });
});

describe('a hub that sends more than it declared', () => {
  const dir = tempDir();
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await FakeHub.start([
      // The tree says the graph is 1000 bytes; the CDN sends the whole (larger) file.
      { id: 'acme/liar', dir: fixturePath(TINY_LM), reportedBytes: { 'onnx/model.onnx': 1000 } },
      { id: 'acme/huge', dir: fixturePath(TINY_LM), reportedBytes: { 'onnx/model.onnx': 2 ** 52 } },
    ]);
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  it('stops at the declared size, deletes the part and fails with a clear error', async () => {
    const { manager, db } = managerIn(dir.path, hub.url, [hub.cdnUrl]);
    let most = 0;
    manager.on('update', (view) => {
      most = Math.max(most, view.downloadedBytes);
    });
    try {
      const started = await manager.start({ repo: 'acme/liar' });
      const done = await settled(manager, started.id, ['failed', 'completed']);
      expect(done.status).toBe('failed');
      expect(done.error).toMatch(
        /The hub sent more of onnx\/model\.onnx than the size it declared; Lodge stopped and deleted the partial file/,
      );
      expect(most).toBeLessThanOrEqual(done.totalBytes);
      const part = join(dir.path, 'downloads', started.id, 'onnx', 'model.onnx.part');
      expect(existsSync(part)).toBe(false);
      expect(existsSync(join(dir.path, 'downloads', started.id, 'onnx', 'model.onnx'))).toBe(false);
    } finally {
      await manager.dispose();
      db.close();
    }
  });

  it('refuses a declared total beyond any model before fetching a byte', async () => {
    const { manager, db } = managerIn(dir.path, hub.url, [hub.cdnUrl]);
    hub.log.length = 0;
    try {
      await expect(manager.start({ repo: 'acme/huge' })).rejects.toMatchObject({
        code: 'invalid_request',
        message: expect.stringMatching(/declares .* TiB for fp32, more than any model Lodge downloads/),
      });
      expect(hub.log.some((entry) => entry.url.includes('/resolve/'))).toBe(false);
    } finally {
      await manager.dispose();
      db.close();
    }
  });
});

describe('download errors name no path and no address', () => {
  it('a file whose server refuses connections, and a downloads folder that cannot be made', async () => {
    const dir = tempDir();
    const hub = await FakeHub.start([{ id: 'acme/tiny', dir: fixturePath(TINY_LM) }]);
    const port = await closedPort();
    // A trusted origin (so it is not refused as internal): the connection itself fails.
    hub.redirect('onnx/model.onnx', `http://127.0.0.1:${port}/cdn/model.onnx`);
    const { manager, db } = managerIn(dir.path, hub.url, [hub.cdnUrl, `http://127.0.0.1:${port}`]);
    try {
      const refused = await settled(manager, (await manager.start({ repo: 'acme/tiny' })).id, ['failed']);
      expect(refused.error).toMatch(
        /Downloading onnx\/model\.onnx failed 5 times: the server refused the connection/,
      );
      expectNothingInternal(refused.error ?? '', dir.path);

      // A file where the download's folder would go: making it fails with the full path in the error.
      hub.redirect('onnx/model.onnx', `${hub.cdnUrl}/cdn/acme/tiny/onnx/model.onnx`);
      rmSync(join(dir.path, 'downloads'), { recursive: true, force: true });
      writeFileSync(join(dir.path, 'downloads'), 'not a folder');
      const blocked = await settled(
        manager,
        (await manager.start({ repo: 'acme/tiny', id: 'acme/two' })).id,
        ['failed'],
      );
      expect(blocked.error).toMatch(
        /The download of acme\/tiny failed: a file stands where a folder should be/,
      );
      expectNothingInternal(blocked.error ?? '', dir.path);
    } finally {
      await manager.dispose();
      db.close();
      await hub.close();
      dir.remove();
    }
  });

  it('over HTTP: a hub on a closed port, in the app API and in Ollama pull', async () => {
    const port = await closedPort();
    const core = await startTestCore({ env: { HF_ENDPOINT: `http://127.0.0.1:${port}` } });
    try {
      const app = await fetch(`${core.url}/app/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repo: 'acme/tiny' }),
      });
      const appText = await app.text();
      expect(app.status).toBe(503);
      expect(appText).toMatch(
        /Cannot reach the Hugging Face hub \(the endpoint set in Settings\): the server refused/,
      );
      expectNothingInternal(appText, core.dataDir);
      const pull = await fetch(`${core.url}/api/pull`, {
        method: 'POST',
        body: JSON.stringify({ model: 'acme/tiny', stream: false }),
      });
      const pullText = await pull.text();
      expect(pullText).toMatch(/the server refused the connection/);
      expectNothingInternal(pullText, core.dataDir);
    } finally {
      await core.dispose();
    }
  });
});

// A real small filesystem to fill: a tmpfs of its own (we run as root here and in CI).
const mountPoint = mkdtempSync(join(tmpdir(), 'lodge-dlfull-'));
const mountError = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    return null;
  } catch (error) {
    rmSync(mountPoint, { recursive: true, force: true });
    return `cannot mount a tmpfs to fill (needs root): ${(error as Error).message.split('\n')[0]}`;
  }
})();

/** Writes until the tmpfs has not one byte left (it is emptied again after each test). */
function fillDisk(): void {
  const fd = openSync(join(mountPoint, 'filler.bin'), 'w');
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(mountError !== null)(
  `a download on a full disk${mountError ? ` (skipped: ${mountError})` : ''}`,
  () => {
    afterEach(() => {
      for (const name of readdirSync(mountPoint))
        rmSync(join(mountPoint, name), { recursive: true, force: true });
    });
    afterAll(() => {
      execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });

    it('fails with the full-disk message, its database writes failing too, and the core lives on', async () => {
      const hub = await FakeHub.start([{ id: 'acme/tiny', dir: fixturePath(TINY_LM) }]);
      const { manager, db } = managerIn(mountPoint, hub.url, [hub.cdnUrl]);
      try {
        const started = await manager.start({ repo: 'acme/tiny' });
        // Before the first byte arrives: an empty WAL, then not one byte left for the part or the WAL.
        db.pragma('wal_checkpoint(TRUNCATE)');
        fillDisk();
        const done = await settled(manager, started.id, ['failed', 'completed']);
        expect(done.status).toBe('failed');
        expect(done.error).toMatch(/disk (?:filled up|that holds the data directory is full)/);
        expectNothingInternal(done.error ?? '', mountPoint);
      } finally {
        await manager.dispose();
        db.close();
        await hub.close();
      }
    });

    it('fails a resumed download with the full-disk message when its state cannot be written', async () => {
      const hub = await FakeHub.start([{ id: 'acme/tiny', dir: fixturePath(TINY_LM) }]);
      hub.throttle(20_000);
      const { manager, db } = managerIn(mountPoint, hub.url, [hub.cdnUrl]);
      try {
        const started = await manager.start({ repo: 'acme/tiny' });
        manager.pause(started.id);
        await settled(manager, started.id, ['paused']);
        db.pragma('wal_checkpoint(TRUNCATE)');
        fillDisk();
        // Queuing it again is a write SQLite cannot make: the download fails, and says why.
        const resumed = manager.resume(started.id);
        expect(resumed.status).toBe('failed');
        expect(resumed.error).toMatch(/^The disk that holds the data directory is full/);
        expect(manager.view(started.id).status).toBe('failed');
      } finally {
        await manager.dispose();
        db.close();
        await hub.close();
      }
    });
  },
);
