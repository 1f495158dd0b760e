"""The command line's argument types and files, for every command: bad input is one clear line."""

from __future__ import annotations

import argparse
import datetime as dt
import re

from handlers.formatting import read_date
from handlers.validation import InputError, _

MAX_ID = 2**31 - 1  # ids are INTEGER columns; a larger number cannot name a row (and overflows the driver)


DATE_FORMS = "YYYY-MM-DD, or the ROC year: 115/06/30, 115-06-30, 民國115年6月30日"


def a_date(text: str) -> dt.date:
    """ISO or ROC (民國) dates, read by the one rule the roster import uses (handlers.formatting.read_date)."""
    try:
        day = read_date(text)
    except ValueError as error:
        if str(error).startswith("there is no such day"):
            raise argparse.ArgumentTypeError(str(error)) from None
        day = None
    if day is None:
        raise argparse.ArgumentTypeError(f"not a date ({DATE_FORMS}): {text!r}")
    return day


def a_positive_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or not 1 <= int(text) <= MAX_ID:
        raise argparse.ArgumentTypeError(f"not an id: {text!r}")
    return int(text)


def a_port(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port (1-65535): {text!r}")
    return int(text)


def a_text(text: str) -> str:
    """Arguments that are not valid UTF-8 arrive with surrogates, which no database can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"not valid UTF-8 text: {text!r}") from None
    return text


def a_time(text: str) -> dt.datetime:
    """ISO 8601, or an ISO or ROC date and a time (115/04/01 09:00); without an offset the time is local
    (VBOT_TIMEZONE), attached when the settings are known."""
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*", text):
            return dt.datetime.fromisoformat(text)
        day_text, _, clock = text.strip().rpartition(" ")
        day = read_date(day_text) if re.fullmatch(r"[0-9]{1,2}:[0-9]{2}", clock) else None
        if day is None:
            raise ValueError
        return dt.datetime.combine(day, dt.time.fromisoformat(clock.zfill(5)))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time (ISO 8601, e.g. 2026-04-01T09:00, or 115/04/01 09:00): {text!r}"
        ) from None


def a_day_list(text: str) -> tuple[int, ...]:
    if not re.fullmatch(r"[0-9]{1,4}(,[0-9]{1,4})*", text.replace(" ", "")):
        raise argparse.ArgumentTypeError(f"not a list of days (e.g. 14,3,1): {text!r}")
    return tuple(int(part) for part in text.replace(" ", "").split(","))


def a_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    return value


def read_file(path: str, limit: int = 50 * 1024 * 1024) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise InputError(
            f"cannot read {path}: {error.strerror}", said=_("{file} cannot be read."), file=str(path)
        ) from None
    if len(data) > limit:
        raise InputError(
            f"{path} is larger than {limit // (1024 * 1024)} MiB",
            said=_("{file} is larger than {most} MiB."),
            file=str(path),
            most=limit // (1024 * 1024),
        )
    return data


def write_file(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as out:
            out.write(data)
    except OSError as error:
        raise InputError(
            f"cannot write {path}: {error.strerror or error}",
            said=_("{file} cannot be written."),
            file=str(path),
        ) from None
