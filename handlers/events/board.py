"""The live board of a shift: who was expected, who is here, who is missing, who walked up. The console's
board page and its poller read it; the chat's 現場 says the same in a message."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from storage import event_store


@dataclass(frozen=True)
class ShiftBoard:
    shift_id: int
    expected: tuple[tuple[int, str], ...]
    present: tuple[tuple[int, str], ...]  # on the roster and checked in
    missing: tuple[tuple[int, str], ...]
    walk_ups: tuple[tuple[int, str], ...]

    def as_json(self) -> dict:
        return {
            "expected": len(self.expected),
            "present": [name for _, name in self.present],
            "missing": [name for _, name in self.missing],
            "walk_ups": [name for _, name in self.walk_ups],
        }


def shift_boards(session: Session, shift_ids: list[int]) -> dict[int, ShiftBoard]:
    expected: dict[int, dict[int, str]] = {shift_id: {} for shift_id in shift_ids}
    for shift_id, volunteer_id, name in event_store.roster_of(session, shift_ids):
        expected[shift_id][volunteer_id] = name
    here: dict[int, dict[int, str]] = {shift_id: {} for shift_id in shift_ids}
    walk_ups: dict[int, dict[int, str]] = {shift_id: {} for shift_id in shift_ids}
    for shift_id, volunteer_id, name, walk_up in event_store.attendance_of(session, shift_ids):
        here[shift_id][volunteer_id] = name
        if walk_up or volunteer_id not in expected[shift_id]:
            walk_ups[shift_id][volunteer_id] = name
    return {
        shift_id: ShiftBoard(
            shift_id,
            tuple(expected[shift_id].items()),
            tuple((v, n) for v, n in expected[shift_id].items() if v in here[shift_id]),
            tuple((v, n) for v, n in expected[shift_id].items() if v not in here[shift_id]),
            tuple(walk_ups[shift_id].items()),
        )
        for shift_id in shift_ids
    }
