import { dirname, join } from 'node:path';
import { arch, platform } from 'node:process';
import type { AppInfo } from '../../shared/contract/system';
import { ConfigError, resolveConfig, resolveDataDir, type Flags } from './config';
import { openDatabase } from './db/connection';
import { migrate } from './db/migrate';
import { migrations } from './db/migrations';
import { ConversationRepository } from './db/conversation-repository';
import { DownloadRepository } from './db/download-repository';
import { ModelRepository } from './db/model-repository';
import { ModelAliasRepository } from './db/model-alias-repository';
import { RemoteEngineRepository } from './db/remote-engine-repository';
import { DownloadManager } from './hub/download-manager';
import { HubClient } from './hub/hub-client';
import { MetricsHistoryRepository } from './db/metrics-history-repository';
import { RequestLogRepository } from './db/request-log-repository';
import { ResponseRepository } from './db/response-repository';
import { SettingsRepository } from './db/settings-repository';
import { createHttpServer, type HttpServer } from './api/server';
import { settlesWithin, systemClock } from './engine/clock';
import type { Engine } from './engine/engine';
import { physicalCores, systemMemory } from './engine/hardware';
import { RunnerProcess } from './engine/runner-process';
import { Scheduler } from './engine/scheduler';
import { ModelCatalog } from './library/model-catalog';
import { ModelsWatcher } from './library/models-watcher';
import { GpuStats } from './metrics/gpu-stats';
import { InferenceLog } from './metrics/inference-log';
import { MetricsHistory } from './metrics/metrics-history';
import { SystemStats } from './metrics/system-stats';
import { DisposableStack } from './lifecycle';
import { schedulerPolicy } from './model-policy';
import { createLogSink, type Logger } from './logging/logger';
import { dataPaths, ensureDataDirs, type DataPaths } from './paths';
import { ModelAliases } from './remote/model-aliases';
import { RemoteEngines, type RemoteTimeouts } from './remote/remote-engines';
import { RoutedEngine } from './remote/routed-engine';
import { SettingsService } from './settings-service';
import { LODGE_VERSION } from './version';

/** How long requests already running at shutdown may take to finish before they are stopped. */
export const REQUEST_GRACE_MS = 5000;

/** How long connections may stay open once every request was ended, before they are cut. */
const CLOSE_WAIT_MS = 2000;

/** How a core is started: the command line, the environment, and where the built web UI lives. */
export interface LodgeOptions {
  readonly flags: Flags;
  readonly env: NodeJS.ProcessEnv;
  /** The built renderer (`out/renderer`), or null to serve no UI. */
  readonly rendererDir: string | null;
  /** The built runner entry (`out/main/runner.js`) forked for each loaded model. */
  readonly runnerPath: string;
  /** Where each served request's line goes (the terminal of `lodge serve`); none when not given. */
  readonly requestLines?: (line: string) => void;
}

/** A running core. */
export interface Lodge {
  /** The base URL it listens on, e.g. `http://127.0.0.1:11435`. */
  readonly url: string;
  readonly paths: DataPaths;
  readonly logger: Logger;
  readonly settings: SettingsService;
  readonly server: HttpServer;
  readonly engine: Engine;
  /**
   * Shuts down: stops accepting requests (`shutting_down`), ends queued ones at once, gives
   * running ones `graceMs` to finish and stops them after that, then releases everything in
   * reverse order (the database last).
   */
  dispose(graceMs?: number): Promise<void>;
}

/**
 * The composition root: config → data dir → database → logs → settings → HTTP server, each built
 * once, handed its dependencies, and released in reverse order by {@link Lodge.dispose}.
 */
export async function startLodge(options: LodgeOptions): Promise<Lodge> {
  const startedAt = Date.now();
  const stack = new DisposableStack();
  const paths = dataPaths(resolveDataDir(options.flags, options.env));
  try {
    ensureDataDirs(paths);
    const db = openDatabase(paths.database);
    stack.add(() => {
      db.close();
    });
    migrate(db, migrations);

    const settingsRepository = new SettingsRepository(db);
    const resolved = resolveConfig(settingsRepository.readAll(), options.env, options.flags);
    const sink = createLogSink(paths.logs, resolved.values.logLevel);
    stack.add(() => sink.dispose());
    const logger = sink.logger;
    for (const warning of resolved.warnings) logger.warn(warning);

    const settings = new SettingsService(settingsRepository, options.env, options.flags, resolved);
    stack.add(settings.onChange((values) => (sink.logger.level = values.logLevel)));

    const catalog = new ModelCatalog(
      paths.models,
      new ModelRepository(db),
      logger.child({ component: 'library' }),
    );
    catalog.refresh();
    const watcher = new ModelsWatcher(
      paths.models,
      () => catalog.refresh(),
      logger.child({ component: 'library' }),
    );
    watcher.start();
    stack.add(() => watcher.dispose());
    // Checksums of models found in the folder are computed in the background; shutdown stops it.
    const hashing = new AbortController();
    const hashed = catalog.hashMissing(hashing.signal);
    stack.add(async () => {
      hashing.abort();
      await hashed;
    });
    const inferences = new InferenceLog();
    // Disposed after the server has closed, so its last interval holds the shutdown's own requests.
    const history = new MetricsHistory({
      system: new SystemStats(),
      gpu: new GpuStats(),
      inferences,
      repository: new MetricsHistoryRepository(db),
    });
    history.start();
    stack.add(() => history.dispose());
    const cores = physicalCores();
    const scheduler = new Scheduler({
      settings: () =>
        schedulerPolicy(settings.values, {
          physicalCores: cores,
          totalMemoryBytes: systemMemory().totalBytes,
        }),
      spawn: (modelId) => new RunnerProcess(modelId, options.runnerPath),
      cacheDir: paths.cache,
      clock: systemClock,
      memory: systemMemory,
      logger: logger.child({ component: 'scheduler' }),
    });
    stack.add(() => scheduler.dispose());
    const remotes = new RemoteEngines(
      new RemoteEngineRepository(db),
      logger.child({ component: 'remote' }),
      remoteTimeouts(options.env),
      () => catalog.list().map((record) => record.id),
    );
    remotes.start();
    stack.add(() => remotes.dispose());
    // The aliases check their targets against the engine, which routes through the aliases.
    const routed: RoutedEngine = new RoutedEngine(
      catalog,
      scheduler,
      inferences,
      logger.child({ component: 'engine' }),
      remotes,
      () => aliases,
    );
    const aliases = new ModelAliases(new ModelAliasRepository(db), (name) => routed.kindOf(name));
    const engine: Engine = routed;
    const hub = new HubClient({
      endpoint: () => settings.values.hubEndpoint,
      token: () => settings.values.hubToken,
      trustedOrigins: () => hubTrustedOrigins(options.env),
    });
    const downloads = new DownloadManager({
      hub,
      repository: new DownloadRepository(db),
      catalog,
      downloadsDir: paths.downloads,
      modelsDir: paths.models,
      logger: logger.child({ component: 'downloads' }),
    });
    stack.add(() => downloads.dispose());
    downloads.resumeInterrupted();

    let url = '';
    const server = await createHttpServer({
      engine,
      catalog,
      hub,
      downloads,
      conversations: new ConversationRepository(db),
      remotes,
      aliases,
      responses: new ResponseRepository(db),
      dirs: { dataDir: paths.root, cacheDir: paths.cache },
      demoScript: join(dirname(options.runnerPath), 'demo-models.js'),
      inferences,
      logger,
      settings,
      logs: sink.ring,
      requests: new RequestLogRepository(db),
      history,
      rendererDir: options.rendererDir,
      ...(options.requestLines ? { requestLines: options.requestLines } : {}),
      startedAt,
      info: (): AppInfo => ({
        name: 'Lodge',
        version: LODGE_VERSION,
        apiBase: url,
        dataDir: paths.root,
        authRequired: settings.values.apiKey !== null,
        runtime: { node: process.versions.node, platform, arch },
        startedAt: new Date(startedAt).toISOString(),
      }),
    });
    stack.add(() => server.close());

    const bound = await listenOrExplain(server, resolved.values.host, resolved.values.port);
    url = `http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
    logger.info({ url, dataDir: paths.root, version: LODGE_VERSION }, 'Lodge is listening');

    return {
      url,
      paths,
      logger,
      settings,
      server,
      engine,
      dispose: async (graceMs = REQUEST_GRACE_MS) => {
        logger.info('shutting down');
        const closed = server.close();
        await engine.drain(graceMs);
        // What still holds a connection now (a pull's progress stream, say) is cut rather than waited for.
        if (!(await settlesWithin(systemClock, closed, CLOSE_WAIT_MS)))
          server.fastify.server.closeAllConnections();
        await stack.dispose((error) => logger.error({ err: error }, 'error while shutting down'));
      },
    };
  } catch (error) {
    await stack.dispose(() => undefined);
    throw error;
  }
}

async function listenOrExplain(server: HttpServer, host: string, port: number) {
  try {
    return await server.listen(host, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new ConfigError(
        `Port ${port} on ${host} is already in use (another Lodge?). Choose another with --port or LODGE_PORT.`,
      );
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new ConfigError(
        `Cannot listen on ${host}: this machine has no such address. Check --host or LODGE_HOST.`,
      );
    }
    if (code === 'EACCES')
      throw new ConfigError(`Not allowed to listen on port ${port}. Choose a port above 1024.`);
    throw error;
  }
}

/** `LODGE_HUB_TRUSTED_ORIGINS`: comma-separated origins a hub's redirects may reach on internal addresses. */
function hubTrustedOrigins(env: NodeJS.ProcessEnv): string[] {
  return (env.LODGE_HUB_TRUSTED_ORIGINS ?? '').split(',').flatMap((entry) => {
    try {
      return entry.trim() === '' ? [] : [new URL(entry.trim()).origin];
    } catch {
      return [];
    }
  });
}

/**
 * `LODGE_REMOTE_CONNECT_TIMEOUT_MS`, `LODGE_REMOTE_IDLE_TIMEOUT_MS`: how long a remote engine may
 * take to accept a connection (default 5 s) and stay silent once connected (default 120 s).
 */
function remoteTimeouts(env: NodeJS.ProcessEnv): RemoteTimeouts {
  const ms = (text: string | undefined) => {
    const value = Number(text);
    return text !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const connect = ms(env.LODGE_REMOTE_CONNECT_TIMEOUT_MS);
  const idle = ms(env.LODGE_REMOTE_IDLE_TIMEOUT_MS);
  return {
    ...(connect !== undefined ? { connectTimeoutMs: connect } : {}),
    ...(idle !== undefined ? { idleTimeoutMs: idle } : {}),
  };
}
