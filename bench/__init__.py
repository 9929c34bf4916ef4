"""`make bench`: builds a fresh PostgreSQL database with `generate_load` and measures the
month close, the live pages, the time-entry POST and the CSV export (bench/run.py)."""
