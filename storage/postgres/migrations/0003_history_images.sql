-- Images attached to a user turn, stored with it (as SQLite's migration 0007): follow-ups send these
-- bytes again, never an expired link. They go with their turn through the foreign key.
CREATE TABLE history_images (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    turn_id    BIGINT  NOT NULL REFERENCES history (id) ON DELETE CASCADE,
    channel_id BIGINT  NOT NULL,
    position   INTEGER NOT NULL,  -- order within the turn
    filename   TEXT    NOT NULL,
    media_type TEXT    NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    tokens     INTEGER NOT NULL CHECK (tokens >= 0),
    data       BYTEA   NOT NULL
);
CREATE INDEX history_images_channel_turn ON history_images (channel_id, turn_id);
CREATE INDEX history_images_turn ON history_images (turn_id);
