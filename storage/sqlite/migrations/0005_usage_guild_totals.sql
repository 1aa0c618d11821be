-- A server's recorded tokens per UTC day, kept beside the per-member rows in the same transaction,
-- so the budget check before every model call reads one row however many members were active.
CREATE TABLE usage_guild_daily (
    guild_id     INTEGER NOT NULL,
    day          TEXT    NOT NULL,  -- UTC date, YYYY-MM-DD
    total_tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day)
) WITHOUT ROWID;

INSERT INTO usage_guild_daily (guild_id, day, total_tokens)
SELECT guild_id, day, SUM(total_tokens) FROM usage_daily GROUP BY guild_id, day;
