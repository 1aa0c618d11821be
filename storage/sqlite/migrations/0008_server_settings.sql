-- Server settings chosen by a server's admins with /config. NULL everywhere = the bot's default
-- (SYSTEM_PROMPT alone, the mention mode, everyone may ask, REASONING_EFFORT).

-- One row per server that changed something.
CREATE TABLE guild_settings (
    guild_id         INTEGER PRIMARY KEY,
    persona          TEXT,     -- extra instructions after SYSTEM_PROMPT
    access_role_id   INTEGER,  -- only members with this role (or Manage Server) may use the bot
    reasoning_effort TEXT CHECK (reasoning_effort IN ('none', 'low', 'medium', 'high', 'xhigh')),
    updated_by       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL  -- unix seconds, UTC
);

-- One row per channel (a text channel or a forum) that differs from its server. Threads have no
-- row: they follow their parent channel.
CREATE TABLE channel_settings (
    channel_id INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    persona    TEXT,
    mode       TEXT CHECK (mode IN ('mention', 'thread', 'always', 'off')),
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL  -- unix seconds, UTC
);

-- A server's settings are read together: its row and its channels' rows.
CREATE INDEX channel_settings_guild ON channel_settings (guild_id);
