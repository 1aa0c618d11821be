-- Token budgets: what each server and member used per UTC day, what is held in flight, and each
-- server's own budgets. Outside a server (no guild) the ledger uses guild_id 0.

-- One row per (server, member, UTC day). Tokens are the service's reported usage, or our estimate
-- when it reported none (counted in estimated_requests).
CREATE TABLE usage_daily (
    guild_id           INTEGER NOT NULL,
    day                TEXT    NOT NULL,  -- UTC date, YYYY-MM-DD
    user_id            INTEGER NOT NULL,
    requests           INTEGER NOT NULL DEFAULT 0,  -- answered
    failed_requests    INTEGER NOT NULL DEFAULT 0,  -- failed: reservation released, no tokens recorded
    estimated_requests INTEGER NOT NULL DEFAULT 0,  -- answered without a usage report
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens   INTEGER NOT NULL DEFAULT 0,  -- part of completion_tokens
    cached_tokens      INTEGER NOT NULL DEFAULT 0,  -- part of prompt_tokens
    total_tokens       INTEGER NOT NULL DEFAULT 0,  -- what the budgets count
    -- The key's order serves every query: a server's day (prefix), one member's day (whole key).
    PRIMARY KEY (guild_id, day, user_id)
) WITHOUT ROWID;

-- Tokens held by requests in flight, counted against the budgets until settled or released.
-- Rows left by a crash are deleted at start-up.
CREATE TABLE usage_reservations (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    day        TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    tokens     INTEGER NOT NULL CHECK (tokens >= 0),
    created_at INTEGER NOT NULL  -- unix seconds, UTC
);

CREATE INDEX usage_reservations_day ON usage_reservations (guild_id, day, user_id);

-- A server's budgets as its admins set them: NULL = the default from the settings
-- (GUILD_DAILY_TOKENS, USER_DAILY_TOKENS), 0 = unlimited.
CREATE TABLE guild_budgets (
    guild_id          INTEGER PRIMARY KEY,
    daily_tokens      INTEGER CHECK (daily_tokens >= 0),
    user_daily_tokens INTEGER CHECK (user_daily_tokens >= 0),
    updated_by        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL  -- unix seconds, UTC
);
