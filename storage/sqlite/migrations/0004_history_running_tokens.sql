-- Cache-friendly context windows. Each turn records the channel's running total of estimated
-- tokens up to and including itself. A context window starts at a block boundary of that total,
-- so the window (and with it the prompt's prefix, which a provider's prompt cache serves) stays
-- put from one question to the next, is the same after a restart, and needs no extra state.
ALTER TABLE history ADD COLUMN running_tokens INTEGER NOT NULL DEFAULT 0;

-- Turns stored before this migration: their channel's running totals, in one pass.
UPDATE history SET running_tokens = totals.running
FROM (
    SELECT id, SUM(tokens) OVER (PARTITION BY channel_id ORDER BY id) AS running FROM history
) AS totals
WHERE history.id = totals.id;

-- A context window is a range of this index: the turns that end after its boundary.
CREATE INDEX history_channel_running ON history (channel_id, running_tokens);
