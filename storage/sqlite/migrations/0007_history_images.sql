-- Images attached to a user turn, stored with it: Discord's attachment links expire within a day,
-- so follow-ups send these bytes again (already shrunk and stripped of metadata), never a link.
-- They go with their turn: deleting history rows (/reset, a deleted thread) deletes them.
CREATE TABLE history_images (
    id         INTEGER PRIMARY KEY,
    turn_id    INTEGER NOT NULL REFERENCES history (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    position   INTEGER NOT NULL,  -- order within the turn
    filename   TEXT    NOT NULL,
    media_type TEXT    NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    tokens     INTEGER NOT NULL CHECK (tokens >= 0),  -- the tile formula's price, part of the turn's tokens
    data       BLOB    NOT NULL
);

-- "The newest images of channel X from turn N on" is a range of this index.
CREATE INDEX history_images_channel_turn ON history_images (channel_id, turn_id);
-- Deleting a turn finds its images through this one (the cascade).
CREATE INDEX history_images_turn ON history_images (turn_id);
