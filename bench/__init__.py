"""Benchmarks of the real bot over the project's fake Discord and fake model: `make bench`."""
