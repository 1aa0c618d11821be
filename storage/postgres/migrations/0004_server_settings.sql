-- Server settings chosen with /config (as SQLite's migration 0008). NULL everywhere = the default.
CREATE TABLE guild_settings (
    guild_id         BIGINT PRIMARY KEY,
    persona          TEXT,
    access_role_id   BIGINT,
    reasoning_effort TEXT CHECK (reasoning_effort IN ('none', 'low', 'medium', 'high', 'xhigh')),
    updated_by       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL  -- unix seconds, UTC
);

-- One row per channel (a text channel or a forum) that differs from its server.
CREATE TABLE channel_settings (
    channel_id BIGINT PRIMARY KEY,
    guild_id   BIGINT NOT NULL,
    persona    TEXT,
    mode       TEXT CHECK (mode IN ('mention', 'thread', 'always', 'off')),
    updated_by BIGINT NOT NULL,
    updated_at BIGINT NOT NULL  -- unix seconds, UTC
);
CREATE INDEX channel_settings_guild ON channel_settings (guild_id);
