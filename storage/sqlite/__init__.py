"""The SQLite backend: one aiosqlite connection, its stores and numbered migrations."""
