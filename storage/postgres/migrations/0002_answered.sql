-- Message and interaction ids already taken by a session: during a deploy two sessions of one shard
-- receive the same events, and only the one that inserts the id answers it.
CREATE TABLE answered_triggers (
    trigger_id BIGINT PRIMARY KEY,
    claimed_at BIGINT NOT NULL  -- unix seconds, UTC
);
CREATE INDEX answered_triggers_claimed ON answered_triggers (claimed_at);
