"""The PostgreSQL backend: an asyncpg pool shared by several bot processes, its stores and migrations."""
