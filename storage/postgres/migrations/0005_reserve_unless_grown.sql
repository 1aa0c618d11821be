-- A hold is refused only when the totals grew since the admission read them. Admission is monotone
-- (a budget with room at a higher total has room at a lower one), so totals that shrank meanwhile
-- (an answer settled below its estimate, a failure released) need no retry; holds made by others
-- still do. Under load, settlements no longer make every concurrent hold retry.
CREATE OR REPLACE FUNCTION reserve_tokens(g BIGINT, d DATE, u BIGINT, t BIGINT, now_seconds BIGINT,
                                          seen_guild BIGINT, seen_user BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    held_id BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('usage:' || g || ':' || d, 0));
    IF COALESCE((SELECT total_tokens FROM usage_guild_daily WHERE guild_id = g AND day = d), 0)
       + (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations WHERE guild_id = g AND day = d)
       > seen_guild
    OR (SELECT COALESCE(SUM(total_tokens), 0) FROM usage_daily
           WHERE guild_id = g AND day = d AND user_id = u)
       + (SELECT COALESCE(SUM(tokens), 0) FROM usage_reservations
           WHERE guild_id = g AND day = d AND user_id = u)
       > seen_user
    THEN
        RETURN NULL;
    END IF;
    INSERT INTO usage_reservations (guild_id, day, user_id, tokens, created_at)
    VALUES (g, d, u, t, now_seconds) RETURNING id INTO held_id;
    RETURN held_id;
END;
$$;
