"""`vbot volunteer import FILE --unit ID`: a unit's roster (CSV or XLSX) into the store, row by row.

Each row is matched to a volunteer by record-book number, else by phone, else (among the unit's members) by
name and birth date; a new person gets an invite code. A row whose facts point at two people, or that cannot
tell a new person from a member of the same name, is reported, not guessed. A bad row is reported with its
line and the file's own column header, and changes nothing; importing the same file again changes nothing.
A record book's balance (時數結餘 with 結餘日期) is stored as a balance: it counts toward totals and awards, not
as service of the half-year it is dated in.
Headers may be the ones units keep in Chinese or plain English (COLUMNS).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from handlers.formatting import read_date, spreadsheet_row
from handlers.i18n import Translator
from handlers.people import admin
from handlers.validation import InputError, _, check_date, clean_name, unit_or_error
from storage import audit_store, award_store, people_store
from storage.models import Unit, Volunteer
from storage.vocabulary import Gender, Role

# Field → the headers it may have (the first is the English one the README documents).
COLUMNS = {
    "name": ("name", "姓名"),
    "gender": ("gender", "性別"),
    "birth_date": ("birth_date", "出生日期", "生日"),
    "phone": ("phone", "電話", "手機", "行動電話"),
    "record_book_no": ("record_book_no", "紀錄冊編號", "紀錄冊號碼"),
    "record_book_date": ("record_book_date", "紀錄冊發給日期", "紀錄冊日期"),
    "basic_training_date": ("basic_training_date", "基礎訓練日期"),
    "special_training_date": ("special_training_date", "特殊訓練日期"),
    "balance_hours": ("balance_hours", "時數結餘", "累計時數"),
    "balance_date": ("balance_date", "結餘日期"),
    "english_name": ("english_name", "英文姓名"),
    "insured_until": ("insured_until", "保險到期日", "意外險到期日"),
}
GENDER_WORDS = {
    "男": Gender.MALE,
    "女": Gender.FEMALE,
    "其他": Gender.OTHER,
    "male": Gender.MALE,
    "female": Gender.FEMALE,
    "other": Gender.OTHER,
    "m": Gender.MALE,
    "f": Gender.FEMALE,
}
# A row the file itself spoils (an unclosed quote, more cells than the header).
SPOILT_ROW = _(
    'This line cannot be read: a quote (") is not closed, or a cell holds a comma without quotes around it.'
)
TRAINING_HOURS = 6  # a training's hours when a roster gives only its date (domain.md: 6 h each)
BALANCE_NOTE = "record-book balance (roster import)"
MAX_ROWS = 100_000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)  # line and the operator's English (--json)
    invites: list[dict] = field(default_factory=list)  # id, name, invite code of each new volunteer
    # The same errors for a person: (line, the error), read in a language by error_lines.
    refused: list[tuple[int, Exception]] = field(default_factory=list)

    def error_lines(self, t: Translator) -> list[tuple[int, str]]:
        """Each bad row's line and what is wrong with it, in `t`'s language (English where it has no words)."""
        return [
            (line, error.in_words(t) if isinstance(error, InputError) and error.said else str(error))
            for line, error in self.refused
        ]

    def as_json(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class RosterRow:
    line: int  # the file's own line (CSV) or row (XLSX) number where the row starts
    values: dict[str, str]  # field → text
    error: str | None = None  # a row the file itself spoils (an unclosed quote, too many cells)


@dataclass(frozen=True)
class Roster:
    """The rows of a roster file and the file's own header of each field (errors name them as the file does)."""

    rows: list[RosterRow]
    headers: dict[str, str]

    def __len__(self) -> int:
        return len(self.rows)

    def label(self, name: str) -> str:
        """The file's header of a field; for a column the file lacks, its name in the file's language."""
        if name in self.headers:
            return self.headers[name]
        english = self.headers.get("name", "name") == "name"
        return COLUMNS[name][0 if english else 1]


MAX_JOINED_LINES = 5  # a quoted cell may hold line breaks (Alt+Enter in Excel); more is an unclosed quote


def read_rows(data: bytes, filename: str) -> Roster:
    """The rows of a CSV (UTF-8 with or without BOM, or Big5 from old Excel) or of an XLSX's first sheet;
    InputError for a file that is neither or lacks the name column. A CSV row with an unclosed quote is a bad
    row of its own line, never glued to the rows after it."""
    table: list[tuple[int, list | None, str | None]]
    if filename.lower().endswith(".xlsx"):
        table = [(number, row, None) for number, row in enumerate(_xlsx_table(data), start=1)]
    else:
        table = _csv_table(_decode(data))
    if not table:
        raise InputError("the roster file is empty", said=_("The roster file is empty."), field="file")
    if table[0][2] is not None:
        raise InputError(
            f"the roster file's header line: {table[0][2]}",
            said=_("The roster file's header line cannot be read: a quote (\") is not closed."),
            field="file",
        )
    header_cells = [str(h or "").strip() for h in table[0][1] or []]
    headers = [h.casefold() for h in header_cells]
    fields, shown = {}, {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.casefold() in headers:
                fields[name] = headers.index(alias.casefold())
                shown[name] = header_cells[fields[name]]
                break
    if "name" not in fields:
        raise InputError(
            "the roster file needs a name (姓名) column",
            said=_("The roster file needs a name (姓名) column."),
            field="file",
        )
    if len(table) - 1 > MAX_ROWS:
        raise InputError(
            f"the roster file has more than {MAX_ROWS:,} rows",
            said=_("The roster file has more than {most} rows."),
            field="file",
            most=f"{MAX_ROWS:,}",
        )
    return Roster(
        [_roster_row(line, row, error, fields, len(headers)) for line, row, error in table[1:]], shown
    )


def _roster_row(
    line: int, row: list | None, error: str | None, fields: dict[str, int], width: int
) -> RosterRow:
    if row is None:
        return RosterRow(line, {}, error)
    values = {name: _cell(row, index) for name, index in fields.items()}
    if any(_cell(row, index) for index in range(width, len(row))):
        error = f"the row has {len(row)} cells, the header {width}: a comma inside a cell without quotes around it?"
    return RosterRow(line, values, error)


def _csv_table(text: str) -> list[tuple[int, list | None, str | None]]:
    """(line number, cells or None, what spoils the row) of each record of the CSV text."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    table: list[tuple[int, list | None, str | None]] = []
    index = 0
    while index < len(lines):
        cells, used, error = _csv_record(lines, index)
        if cells is None or cells:  # an empty line is no row
            table.append((index + 1, cells, error))
        index += used
    return table


def _csv_record(lines: list[str], start: int) -> tuple[list | None, int, str | None]:
    """The record starting at `start`: (cells, lines it took, None), or (None, 1, why) for a spoilt line."""
    for used in range(1, MAX_JOINED_LINES + 1):
        if start + used > len(lines):
            break
        try:
            records = list(csv.reader(io.StringIO("\n".join(lines[start : start + used])), strict=True))
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                continue  # a quoted cell going on to the next line, or a quote never closed
            return None, 1, f'a quote (") is not closed or is followed by text: {lines[start][:40]!r}'
        if len(records) <= 1:
            return (records[0] if records else []), used, None
        break
    return None, 1, f'a quote (") is not closed: {lines[start][:40]!r}'


def _cell(row: list, index: int) -> str:
    value = row[index] if index < len(row) else ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp950"):  # cp950: the Big5 that Excel in Taiwan writes
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(
        "the roster file is neither UTF-8 nor Big5 text (save it as CSV UTF-8)",
        said=_("The roster file is neither UTF-8 nor Big5 text: save it as CSV UTF-8."),
        field="file",
    )


def _xlsx_table(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError(
            "the roster file is not a readable .xlsx workbook",
            said=_("The roster file is not a readable .xlsx workbook."),
            field="file",
        ) from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def normal_phone(text: str) -> str | None:
    """A phone as Taiwan writes it: separators dropped, +886 as 0, and the leading 0 that Excel drops when it
    stores a phone as a number put back (912345678 → 0912345678, 223456789 → 0223456789). ValueError for a
    phone that Excel shortened to a power of ten (9.12346E+08): its digits are lost."""
    if re.fullmatch(r"\d(\.\d+)?E\+?\d+", text.strip(), flags=re.IGNORECASE):
        raise ValueError(f"{text!r} is a number Excel shortened; format the column as text and save again")
    phone = re.sub(r"[\s\-().]", "", text)
    if not phone:
        return None
    if re.fullmatch(r"\+?886\d{8,9}", phone):
        phone = "0" + phone.removeprefix("+")[3:]
    if re.fullmatch(r"[1-9]\d{7,8}", phone):
        phone = "0" + phone
    return phone


def parse_date(text: str) -> dt.date | None:
    """2026-03-25, 2026/3/25, ROC 115/3/25 or 115年3月25日, 1150325; empty → None; else ValueError (the one
    reading of a written date, handlers/formatting.py's read_date, which the command line uses too)."""
    return read_date(text)


def import_roster(
    session: Session,
    now: dt.datetime,
    actor: str,
    unit_id: int,
    roster: Roster,
    today: dt.date,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    """Each row in its own savepoint: a bad row is reported by its line and the file's header, and changes
    nothing. A person already known (record-book number, phone, or in the unit by name and birth date) is
    matched, never created twice; a row that could be two people is reported, not guessed."""
    unit = unit_or_error(session, unit_id)
    report = ImportReport()
    for done, row in enumerate(roster.rows, start=1):
        progress(done, len(roster))
        if row.error is None and not any(row.values.values()):
            continue
        try:
            if row.error is not None:
                raise InputError(row.error, said=SPOILT_ROW)
            with people_store.savepoint(session):  # a bad row is rolled back alone
                outcome = _import_row(
                    session, now, actor, unit, row.values, today, report=report, roster=roster
                )
        except (InputError, ValueError) as error:
            report.errors.append({"line": row.line, "error": str(error)})
            report.refused.append((row.line, error))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _import_row(
    session, now, actor, unit: Unit, row: dict, today: dt.date, *, report: ImportReport, roster: Roster
) -> str:
    values = _values(row, today, roster)
    person = _match(session, unit, values, roster)
    changed = False
    if person is None:
        person, invite = admin.add_volunteer(
            session,
            now,
            actor,
            unit_id=unit.id,
            name=values["name"],
            invite_valid_for=dt.timedelta(days=30),
            birth_date=values.get("birth_date"),
            gender=values.get("gender"),
            today=today,
            allow_duplicate=True,  # _match has looked already, by more than add's name and birth date
        )
        report.invites.append({"id": person.id, "name": person.name, "invite_code": invite.code})
        created = True
    else:
        created = False
        if not people_store.is_member(session, person.id, unit.id):
            people_store.add_membership(session, person.id, unit.id, Role.VOLUNTEER)
            changed = True
    changed = _update_fields(session, now, actor, person, values, created) or changed
    changed = _add_trainings(session, now, actor, person, unit, values) or changed
    if values.get("balance_hours") and not _has_balance(session, person.id, unit.id, values):
        admin.add_hours(
            session,
            now,
            actor,
            volunteer_id=person.id,
            unit_id=unit.id,
            day=values["balance_date"],
            hours=values["balance_hours"],
            kind=admin.BALANCE,
            note=BALANCE_NOTE,
            today=today,
        )
        changed = True
    return "created" if created else "updated" if changed else "unchanged"


PERSON_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "record_book_no",
    "record_book_date",
    "english_name",
    "insured_until",
)


def _update_fields(session, now, actor, person: Volunteer, values: dict, created: bool) -> bool:
    fields = {f: values[f] for f in PERSON_FIELDS if values.get(f) is not None}
    before = {f: getattr(person, f) for f in fields}
    updates = {f: v for f, v in fields.items() if before[f] != v}
    if not updates:
        return False
    people_store.set_fields(session, person, updates)
    if created:
        return False
    audit_store.record_audit(
        session,
        now,
        actor,
        "volunteer.import",
        f"volunteer:{person.id}",
        None,
        {f: [str(before[f]), str(v)] for f, v in updates.items()},
    )
    return True


def _add_trainings(session, now, actor, person: Volunteer, unit: Unit, values: dict) -> bool:
    changed = False
    for kind, key in (("basic", "basic_training_date"), ("special", "special_training_date")):
        day = values.get(key)
        if day and not _has_training(session, person.id, kind, day):
            admin.add_training(
                session,
                now,
                actor,
                volunteer_id=person.id,
                kind=kind,
                day=day,
                hours=TRAINING_HOURS,
                category=unit.category if kind == "special" else None,
                course="roster import",
            )
            changed = True
    return changed


DATE_FIELDS = (
    "birth_date",
    "record_book_date",
    "basic_training_date",
    "special_training_date",
    "balance_date",
    "insured_until",
)


def _values(row: dict, today: dt.date, roster: Roster) -> dict:
    label = roster.label
    try:
        values: dict = {"name": clean_name(row.get("name", ""), "volunteer")}
    except InputError as error:
        raise InputError(
            f"{label('name')}: {error}",
            said=_("{column}: the name is missing or too long."),
            column=label("name"),
        ) from None
    gender = row.get("gender", "").strip().casefold()
    if gender:
        if gender not in GENDER_WORDS:
            raise InputError(
                f"{label('gender')}: {row['gender']!r} is none of 男, 女, 其他",
                said=_("{column}: {value} is none of 男, 女, 其他."),
                column=label("gender"),
                value=repr(row["gender"]),
            )
        values["gender"] = GENDER_WORDS[gender]
    for f in DATE_FIELDS:
        try:
            values[f] = parse_date(row.get(f, ""))
            if f != "insured_until":
                check_date(values[f], "date", today)
        except ValueError as error:  # InputError is one
            raise InputError(
                f"{label(f)}: {error}",
                said=_("{column}: {value} is not a date that can be kept (e.g. 2026-03-25 or 115/03/25)."),
                column=label(f),
                value=repr(row.get(f, "")),
            ) from None
    try:
        values["phone"] = normal_phone(row.get("phone", ""))
    except ValueError as error:
        raise InputError(
            f"{label('phone')}: {error}",
            said=_(
                "{column}: {value} is a number Excel shortened; format the column as text and save again."
            ),
            column=label("phone"),
            value=repr(row.get("phone", "")),
        ) from None
    values["record_book_no"] = row.get("record_book_no", "").strip() or None
    values["english_name"] = row.get("english_name", "").strip() or None
    balance = row.get("balance_hours", "").strip()
    if balance:
        try:
            values["balance_hours"] = float(balance.replace(",", ""))
        except ValueError:
            raise InputError(
                f"{label('balance_hours')}: not a number: {balance!r}",
                said=_("{column}: {value} is not a number."),
                column=label("balance_hours"),
                value=repr(balance),
            ) from None
        if values["balance_date"] is None:
            raise InputError(
                f"{label('balance_hours')} needs {label('balance_date')} (the date of the balance)",
                said=_("{column} needs {other} (the date of the balance)."),
                column=label("balance_hours"),
                other=label("balance_date"),
            )
    return values


def _match(session: Session, unit: Unit, values: dict, roster: Roster) -> Volunteer | None:
    """The person the row is about: by record-book number, else phone, else (in the unit) name and birth date.
    InputError when the row's facts point at different people or cannot tell two people apart."""
    label = roster.label
    book_no, number = values.get("record_book_no"), values.get("phone")
    book = people_store.volunteer_with_record_book_no(session, book_no) if book_no else None
    phone = people_store.volunteer_with_phone(session, number) if number else None
    if book and phone and book.id != phone.id:
        raise InputError(
            f"{label('record_book_no')} is volunteer {book.id}'s, {label('phone')} volunteer {phone.id}'s:"
            " which person is it? (nothing changed)",
            said=_(
                "{book} is volunteer {first}'s, {phone} volunteer {second}'s: which person is it? Nothing changed."
            ),
            book=label("record_book_no"),
            phone=label("phone"),
            first=book.id,
            second=phone.id,
        )
    found = book or phone
    if found is not None:
        if book_no and found.record_book_no and found.record_book_no != book_no:
            raise InputError(
                f"{label('phone')} {values['phone']} is volunteer {found.id}'s, whose record book is"
                f" {found.record_book_no}, not {values['record_book_no']}: two people with one phone?"
                " (nothing changed)",
                said=_(
                    "{column} {phone} is volunteer {id}'s, whose record book is {stored}, not {given}: two people"
                    " with one phone? Nothing changed."
                ),
                column=label("phone"),
                phone=values["phone"],
                id=found.id,
                stored=found.record_book_no,
                given=values["record_book_no"],
            )
        return found
    return _match_by_name(session, unit, values, roster)


def _match_by_name(session: Session, unit: Unit, values: dict, roster: Roster) -> Volunteer | None:
    same = [
        person
        for person in people_store.unit_members_named(session, unit.id, values["name"])
        if not any(
            values.get(f) is not None and getattr(person, f) is not None and getattr(person, f) != values[f]
            for f in ("birth_date", "phone", "record_book_no")
        )
    ]
    if not same:
        return None
    if len(same) == 1 and values.get("birth_date") is not None and same[0].birth_date == values["birth_date"]:
        return same[0]
    ids = ", ".join(str(person.id) for person in same)
    raise InputError(
        f"{values['name']} is already in the unit (volunteer {ids}) and this row cannot tell them apart: give"
        f" {roster.label('birth_date')}, {roster.label('phone')} or {roster.label('record_book_no')}"
        " (or set the birth date with `vbot volunteer set`); nothing changed",
        said=_(
            "{name} is already in the unit (volunteer {ids}) and this row cannot tell them apart: give {birth},"
            " {phone} or {book}. Nothing changed."
        ),
        name=values["name"],
        ids=ids,
        birth=roster.label("birth_date"),
        phone=roster.label("phone"),
        book=roster.label("record_book_no"),
    )


def _has_training(session: Session, volunteer_id: int, kind: str, day: dt.date) -> bool:
    return award_store.has_training_on(session, volunteer_id, kind, day)


def _has_balance(session: Session, volunteer_id: int, unit_id: int, values: dict) -> bool:
    return award_store.has_hand_entered_hours(
        session,
        volunteer_id,
        unit_id,
        values["balance_date"],
        round(values["balance_hours"] * 60),
        BALANCE_NOTE,
    )


def invites_csv(invites: list[dict]) -> bytes:
    """The new volunteers' invite codes, for the coordinator to hand out (UTF-8 with BOM: Excel reads it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "name", "invite_code"])
    writer.writerows(spreadsheet_row([row["id"], row["name"], row["invite_code"]]) for row in invites)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def rows_progress(stream) -> Callable[[int, int], None]:
    """A progress bar on a terminal (nothing when the output is not one)."""
    if not stream.isatty():
        return lambda done, total: None

    def show(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            filled = round(30 * done / max(total, 1))
            stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
            if done == total:
                stream.write("\n")
            stream.flush()

    return show
