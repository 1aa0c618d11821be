-- Threads opened by /chat: every message in them is answered, across restarts.
CREATE TABLE conversation_threads (
    thread_id  INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    parent_id  INTEGER NOT NULL,
    starter_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL  -- unix seconds, UTC
);
