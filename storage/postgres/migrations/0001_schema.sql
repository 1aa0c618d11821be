-- The schema as SQLite's migrations 0001-0005 left it, in PostgreSQL's own types: snowflakes are
-- BIGINT, UTC days are DATE, unix seconds BIGINT.

-- Per-channel conversation history. A thread is its own channel. Each turn records the channel's
-- running total of estimated tokens up to and including itself (see storage/history.py).
CREATE TABLE history (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id           BIGINT,
    channel_id         BIGINT  NOT NULL,
    role               TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
    author_id          BIGINT,
    author_name        TEXT    NOT NULL DEFAULT '',
    content            TEXT    NOT NULL,
    tokens             INTEGER NOT NULL CHECK (tokens >= 0),
    discord_message_id BIGINT,
    created_at         BIGINT  NOT NULL,  -- unix seconds, UTC
    running_tokens     BIGINT  NOT NULL DEFAULT 0
);
-- "The newest turn of channel X" and "the turns after the window's boundary" are ranges of these.
CREATE INDEX history_channel_newest ON history (channel_id, id);
CREATE INDEX history_channel_running ON history (channel_id, running_tokens);

-- Threads opened by /chat: every message in them is answered, across restarts and processes.
CREATE TABLE conversation_threads (
    thread_id  BIGINT PRIMARY KEY,
    guild_id   BIGINT NOT NULL,
    parent_id  BIGINT NOT NULL,
    starter_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL  -- unix seconds, UTC
);

-- One row per (server, member, UTC day); outside a server guild_id is 0.
CREATE TABLE usage_daily (
    guild_id           BIGINT NOT NULL,
    day                DATE   NOT NULL,
    user_id            BIGINT NOT NULL,
    requests           BIGINT NOT NULL DEFAULT 0,
    failed_requests    BIGINT NOT NULL DEFAULT 0,
    estimated_requests BIGINT NOT NULL DEFAULT 0,
    prompt_tokens      BIGINT NOT NULL DEFAULT 0,
    completion_tokens  BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens   BIGINT NOT NULL DEFAULT 0,
    cached_tokens      BIGINT NOT NULL DEFAULT 0,
    total_tokens       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, user_id)
);

-- A server's recorded tokens per UTC day, kept beside the member rows in the same transaction.
CREATE TABLE usage_guild_daily (
    guild_id     BIGINT NOT NULL,
    day          DATE   NOT NULL,
    total_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day)
);

-- Tokens held by requests in flight, in any process, until settled or released.
CREATE TABLE usage_reservations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guild_id   BIGINT NOT NULL,
    day        DATE   NOT NULL,
    user_id    BIGINT NOT NULL,
    tokens     BIGINT NOT NULL CHECK (tokens >= 0),
    created_at BIGINT NOT NULL  -- unix seconds, UTC
);
CREATE INDEX usage_reservations_day ON usage_reservations (guild_id, day, user_id);

-- A server's budgets as its admins set them: NULL = the default, 0 = unlimited.
CREATE TABLE guild_budgets (
    guild_id          BIGINT PRIMARY KEY,
    daily_tokens      BIGINT CHECK (daily_tokens >= 0),
    user_daily_tokens BIGINT CHECK (user_daily_tokens >= 0),
    updated_by        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL  -- unix seconds, UTC
);

-- Hold t tokens for member u of server g on day d if the server's and the member's totals (recorded
-- plus held) are still those the admission was decided on; return the hold's id, or NULL when they
-- moved (the caller reads again and retries). The advisory lock lets one holder of a server's day
-- in at a time, across every process, and each statement of a PL/pgSQL function reads a fresh
-- snapshot: so the check sees every hold made before it, and the call is one atomic statement.
CREATE FUNCTION reserve_tokens(g BIGINT, d DATE, u BIGINT, t BIGINT, now_seconds BIGINT,
                               seen_guild BIGINT, seen_user BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    held_id BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('usage:' || g || ':' || d, 0));
    IF COALESCE((SELECT total_tokens FROM usage_guild_daily WHERE guild_id = g AND day = d), 0)
       + (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations WHERE guild_id = g AND day = d)
       <> seen_guild
    OR (SELECT COALESCE(SUM(total_tokens), 0) FROM usage_daily
           WHERE guild_id = g AND day = d AND user_id = u)
       + (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations
           WHERE guild_id = g AND day = d AND user_id = u)
       <> seen_user
    THEN
        RETURN NULL;
    END IF;
    INSERT INTO usage_reservations (guild_id, day, user_id, tokens, created_at)
    VALUES (g, d, u, t, now_seconds) RETURNING id INTO held_id;
    RETURN held_id;
END;
$$;
