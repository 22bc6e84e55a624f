"""The staging export: landing SQLite databases to the hive-partitioned Parquet lake.

``python -m extract export``; the lake layout is fixed in ``docs/contracts/lake.md``.
"""
