"""What both benchmarks share: the databases they run on and small statistics."""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import postgres_schema

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("VBOT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_reachable(url: str = POSTGRES_URL) -> str | None:
    """None when PostgreSQL answers, else why not."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return None
    except Exception as error:  # any failure to connect means "skip PostgreSQL"
        return str(error).splitlines()[0]
    finally:
        engine.dispose()


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, empty database URL: a temporary SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="vbot-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    with postgres_schema(POSTGRES_URL) as url:
        yield url


def kinds(choice: str) -> list[str]:
    wanted = ["sqlite", "postgresql"] if choice == "both" else [choice]
    if "postgresql" in wanted:
        why = postgres_reachable()
        if why is not None:
            print(f"PostgreSQL skipped: not reachable at {POSTGRES_URL} ({why})")
            wanted.remove("postgresql")
    return wanted


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(repeat: int, call, warmup: int = 1) -> list[float]:
    """Milliseconds of `repeat` calls, after `warmup` calls that fill caches and pools."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples
