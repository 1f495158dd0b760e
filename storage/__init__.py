"""The store: tables, repository functions named for intent, the unit of work, migrations and seed data."""

from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"  # the shipped rule tables, copied in by `vbot init`
