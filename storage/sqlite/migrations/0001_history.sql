-- Per-channel conversation history. A thread is its own channel.
CREATE TABLE history (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER,
    channel_id         INTEGER NOT NULL,
    role               TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
    author_id          INTEGER,
    author_name        TEXT    NOT NULL DEFAULT '',
    content            TEXT    NOT NULL,
    -- estimated tokens of the turn as sent to the model, so context building never re-counts
    tokens             INTEGER NOT NULL CHECK (tokens >= 0),
    discord_message_id INTEGER,
    created_at         INTEGER NOT NULL  -- unix seconds, UTC
);

-- "The newest turns of channel X" walks this index backwards: cost grows with the turns read,
-- not with the size of the table.
CREATE INDEX history_channel_newest ON history (channel_id, id);
