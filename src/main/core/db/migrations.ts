import type { Migration } from './migrate';

/**
 * Lodge's schema history, oldest first. Append only: a shipped migration is never changed, since
 * users' databases already ran it.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'settings',
    sql: `
      CREATE TABLE settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,            -- JSON
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'request log',
    sql: `
      CREATE TABLE request_log (
        id          INTEGER PRIMARY KEY,
        time        TEXT NOT NULL,
        method      TEXT NOT NULL,
        path        TEXT NOT NULL,
        status      INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        family      TEXT NOT NULL,
        request_id  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX request_log_time ON request_log (time);
    `,
  },
  {
    version: 3,
    name: 'model library',
    sql: `
      CREATE TABLE models (
        id              TEXT PRIMARY KEY,           -- owner/name
        location        TEXT NOT NULL,              -- the model's folder (in models/, or elsewhere when registered in place)
        source          TEXT NOT NULL,              -- JSON: {kind: folder | import | hub, …}
        status          TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'missing')),
        info            TEXT NOT NULL,              -- JSON: format, task, architecture, variants, signature, … as last read
        parameter_count INTEGER,
        files           TEXT NOT NULL DEFAULT '[]', -- JSON: [{path, bytes, sha256}]
        alias           TEXT UNIQUE,
        tags            TEXT NOT NULL DEFAULT '[]', -- JSON string[]
        preset          TEXT NOT NULL DEFAULT '{}', -- JSON ModelPreset
        added_at        TEXT NOT NULL,
        last_used_at    TEXT
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'downloads',
    sql: `
      CREATE TABLE downloads (
        id         TEXT PRIMARY KEY,
        repo       TEXT NOT NULL,
        revision   TEXT NOT NULL,              -- the commit the download is pinned to
        variant    TEXT NOT NULL,
        model_id   TEXT NOT NULL,              -- owner/name it installs as
        status     TEXT NOT NULL CHECK (status IN ('queued', 'downloading', 'paused', 'verifying', 'completed', 'failed', 'cancelled')),
        files      TEXT NOT NULL,              -- JSON: [{path, size, sha256, gitOid}]
        total_bytes INTEGER NOT NULL,
        error      TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    name: 'conversations',
    sql: `
      CREATE TABLE conversations (
        id            TEXT PRIMARY KEY,
        title         TEXT NOT NULL,
        model         TEXT NOT NULL,
        system_prompt TEXT NOT NULL DEFAULT '',
        params        TEXT NOT NULL DEFAULT '{}', -- JSON: the chat's sampling parameters
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      ) STRICT;
      CREATE TABLE messages (
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        position        INTEGER NOT NULL,
        role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content         TEXT NOT NULL,
        model           TEXT,
        stats           TEXT,                       -- JSON: tokens, time to first token, speed
        created_at      TEXT NOT NULL,
        PRIMARY KEY (conversation_id, position)
      ) STRICT;
      CREATE INDEX conversations_updated ON conversations (updated_at DESC);
    `,
  },
  {
    version: 6,
    name: 'request outcomes and metrics history',
    sql: `
      ALTER TABLE request_log ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok'
        CHECK (outcome IN ('ok', 'error', 'cancelled', 'aborted'));
      ALTER TABLE request_log ADD COLUMN error_code TEXT;
      ALTER TABLE request_log ADD COLUMN model TEXT;
      ALTER TABLE request_log ADD COLUMN prompt_tokens INTEGER;
      ALTER TABLE request_log ADD COLUMN completion_tokens INTEGER;
      CREATE INDEX request_log_failed ON request_log (id) WHERE status >= 400 OR outcome = 'error';
      -- One row per minute of the Monitor's history: sums and counts, so a minute split by a restart merges.
      CREATE TABLE metrics_minutes (
        minute            TEXT PRIMARY KEY,  -- ISO time the minute starts
        samples           INTEGER NOT NULL,
        cpu_sum           REAL NOT NULL,     -- percent, summed over samples
        memory_used_sum   REAL NOT NULL,     -- bytes, summed over samples
        memory_total      INTEGER NOT NULL,
        gpu_samples       INTEGER NOT NULL,
        gpu_sum           REAL NOT NULL,     -- utilization percent, summed over gpu_samples
        gpu_memory_sum    REAL NOT NULL,     -- memory used percent, summed over gpu_samples
        requests          INTEGER NOT NULL,
        errors            INTEGER NOT NULL,
        latency_sum_ms    REAL NOT NULL,
        latency_max_ms    REAL,
        inferences        INTEGER NOT NULL,
        decode_count      INTEGER NOT NULL,
        decode_sum        REAL NOT NULL,     -- tokens per second, summed over decode_count
        ttft_count        INTEGER NOT NULL,
        ttft_sum_ms       REAL NOT NULL,
        completion_tokens INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 7,
    name: 'responses',
    sql: `
      CREATE TABLE responses (
        id                   TEXT PRIMARY KEY,  -- resp_…
        previous_response_id TEXT,              -- the response this one continues; no foreign key, it may be deleted
        model                TEXT NOT NULL,
        created_at           INTEGER NOT NULL,  -- Unix seconds
        input                TEXT NOT NULL,     -- JSON: the request's input items, each with its id
        response             TEXT NOT NULL      -- JSON: the response object as it was answered
      ) STRICT;
    `,
  },
  {
    version: 8,
    name: 'model revisions',
    sql: `
      -- Every kept version of a model: a hub commit, or a folder's content. Existing models get
      -- theirs from the library's first reconcile (their hub commit, or their files' checksums).
      CREATE TABLE model_revisions (
        model_id     TEXT NOT NULL,              -- owner/name
        revision     TEXT NOT NULL,              -- hub commit (40 hex), or SHA-256 of the folder's file list (64 hex)
        location     TEXT NOT NULL,              -- the revision's own folder
        source       TEXT NOT NULL,              -- JSON ModelSource
        files        TEXT NOT NULL,              -- JSON: [{path, bytes, sha256, gitOid}]
        bytes        INTEGER NOT NULL,
        pinned       INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),   -- never deleted by a cleanup
        active       INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),   -- the one a bare name runs
        added_at     TEXT NOT NULL,
        committed_at TEXT,                       -- when the hub says the commit was made
        PRIMARY KEY (model_id, revision)
      ) STRICT;
      ALTER TABLE downloads ADD COLUMN committed_at TEXT;  -- when the hub says the commit was made
    `,
  },
  {
    version: 9,
    name: 'remote engines and model aliases',
    sql: `
      CREATE TABLE remote_engines (
        name       TEXT PRIMARY KEY,      -- the prefix of its models' names: name/model
        base_url   TEXT NOT NULL,         -- normalized, ending in /v1
        api_key    TEXT,                  -- sent as a bearer token; never answered back
        added_at   TEXT NOT NULL
      ) STRICT;
      CREATE TABLE model_aliases (
        name       TEXT PRIMARY KEY,
        targets    TEXT NOT NULL,         -- JSON: model names in the order they are tried
        updated_at TEXT NOT NULL
      ) STRICT;
      ALTER TABLE request_log ADD COLUMN route TEXT;
    `,
  },
  {
    version: 10,
    name: 'message-images',
    sql: `
      -- JSON: the data URLs of the images a chat message carries; NULL for none.
      ALTER TABLE messages ADD COLUMN images TEXT;
    `,
  },
];
