-- Token counts became exact (the o200k tokenizer) where they were estimated from characters, which
-- undercounted JSON, URLs, digits and emoji by up to four times. Turns stored before this migration
-- are recounted once, at the next start-up (HistoryStore.recount), in Python where the tokenizer is;
-- this table lists them until then. Their channels' running totals are rebuilt with the last batch.
CREATE TABLE history_recount (id INTEGER PRIMARY KEY);
INSERT INTO history_recount (id) SELECT id FROM history;
