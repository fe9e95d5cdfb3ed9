"""Engines beyond the embedded DuckDB: the open store and the catalogue on Spark (issue 16)."""
