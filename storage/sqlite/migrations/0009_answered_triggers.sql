-- Message and interaction ids already taken by a session: if two sessions of one shard overlap
-- (a deploy), both receive the same events, and only the one that inserts the id answers it.
CREATE TABLE answered_triggers (
    trigger_id INTEGER PRIMARY KEY,
    claimed_at INTEGER NOT NULL  -- unix seconds, UTC
);
CREATE INDEX answered_triggers_claimed ON answered_triggers (claimed_at);
