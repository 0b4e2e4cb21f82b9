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
];
