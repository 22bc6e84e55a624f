"""The landing zone: one SQLite database (WAL) per worker process."""
