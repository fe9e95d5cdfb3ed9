"""The warehouse: the DuckDB file, its typed tables and the as-of views across nights."""
