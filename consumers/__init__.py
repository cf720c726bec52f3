"""Projectors that fold the event stream into PostgreSQL, with checkpoints and dead letters."""
