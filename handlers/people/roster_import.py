"""`vbot volunteer import FILE --unit ID`: a unit's roster (CSV or XLSX) into the store, row by row.

Each row is matched to a volunteer by record-book number, else by phone; a new person gets an invite code.
A bad row is reported with its line and changes nothing; importing the same file again changes nothing.
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

from handlers.formatting import spreadsheet_row
from handlers.people import admin
from handlers.validation import InputError, check_date, clean_name, unit_or_error
from storage import audit_store, award_store, people_store
from storage.models import Unit, Volunteer
from storage.vocabulary import Gender, RecordKind, Role

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
TRAINING_HOURS = 6  # a training's hours when a roster gives only its date (domain.md: 6 h each)
BALANCE_NOTE = "record-book balance (roster import)"
MAX_ROWS = 100_000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)
    invites: list[dict] = field(default_factory=list)  # id, name, invite code of each new volunteer

    def as_json(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


def read_rows(data: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8 with or without BOM, or Big5 from old Excel) or of an XLSX's first sheet,
    as {field: text}; InputError for a file that is neither or lacks the name column."""
    if filename.lower().endswith(".xlsx"):
        table = _xlsx_table(data)
    else:
        table = list(csv.reader(io.StringIO(_decode(data))))
    if not table:
        raise InputError("the roster file is empty")
    headers = [str(h or "").strip().casefold() for h in table[0]]
    fields = {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.casefold() in headers:
                fields[name] = headers.index(alias.casefold())
                break
    if "name" not in fields:
        raise InputError("the roster file needs a name (姓名) column")
    if len(table) - 1 > MAX_ROWS:
        raise InputError(f"the roster file has more than {MAX_ROWS:,} rows")
    return [{name: _cell(row, index) for name, index in fields.items()} for row in table[1:]]


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
    raise InputError("the roster file is neither UTF-8 nor Big5 text (save it as CSV UTF-8)")


def _xlsx_table(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError("the roster file is not a readable .xlsx workbook") from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def parse_date(text: str) -> dt.date | None:
    """2026-03-25, 2026/3/25, ROC 115/3/25 or 115年3月25日, 1150325; empty → None; else ValueError."""
    text = text.strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{2,4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(
        r"(\d{3})(\d{2})(\d{2})", text
    )
    if not match:
        raise ValueError(f"not a date: {text!r}")
    year, month, day = (int(part) for part in match.groups())
    if year < 1000:
        year += 1911  # the ROC year (民國) of government papers
    return dt.date(year, month, day)


def import_roster(
    session: Session,
    now: dt.datetime,
    actor: str,
    unit_id: int,
    rows: list[dict[str, str]],
    today: dt.date,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    unit = unit_or_error(session, unit_id)
    report = ImportReport()
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        progress(number - 1, len(rows))
        if not any(row.values()):
            continue
        try:
            with people_store.savepoint(session):  # a bad row is rolled back alone
                outcome = _import_row(session, now, actor, unit, row, today, report)
        except (InputError, ValueError) as error:
            report.errors.append({"line": number, "error": str(error)})
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _import_row(session, now, actor, unit: Unit, row: dict, today: dt.date, report: ImportReport) -> str:
    values = _values(row, today)
    person = _match(session, values)
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
        )
        report.invites.append({"id": person.id, "name": person.name, "invite_code": invite.code})
        created = True
    else:
        created = False
        if not people_store.is_member(session, person.id, unit.id):
            people_store.add_membership(session, person.id, unit.id, Role.VOLUNTEER)
            changed = True
    fields = {
        f: values[f]
        for f in (
            "name",
            "gender",
            "birth_date",
            "phone",
            "record_book_no",
            "record_book_date",
            "english_name",
            "insured_until",
        )
        if values.get(f) is not None
    }
    before = {f: getattr(person, f) for f in fields}
    updates = {f: v for f, v in fields.items() if before[f] != v}
    if updates:
        people_store.set_fields(session, person, updates)
        if not created:
            audit_store.record_audit(
                session,
                now,
                actor,
                "volunteer.import",
                f"volunteer:{person.id}",
                None,
                {f: [str(before[f]), str(v)] for f, v in updates.items()},
            )
            changed = True
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
    if values.get("balance_hours") and not _has_balance(session, person.id, unit.id, values):
        admin.add_hours(
            session,
            now,
            actor,
            volunteer_id=person.id,
            unit_id=unit.id,
            day=values["balance_date"],
            hours=values["balance_hours"],
            kind=RecordKind.SERVICE,
            note=BALANCE_NOTE,
            today=today,
        )
        changed = True
    return "created" if created else "updated" if changed else "unchanged"


def _values(row: dict, today: dt.date) -> dict:
    values: dict = {"name": clean_name(row.get("name", ""), "volunteer")}
    gender = row.get("gender", "").strip().casefold()
    if gender:
        if gender not in GENDER_WORDS:
            raise InputError(f"gender {row['gender']!r}: 男, 女 or 其他")
        values["gender"] = GENDER_WORDS[gender]
    for f in (
        "birth_date",
        "record_book_date",
        "basic_training_date",
        "special_training_date",
        "balance_date",
        "insured_until",
    ):
        try:
            values[f] = parse_date(row.get(f, ""))
        except ValueError as error:
            raise InputError(f"{COLUMNS[f][0]}: {error}") from None
        if f != "insured_until":
            check_date(values[f], COLUMNS[f][0].replace("_", " "), today)
    phone = re.sub(r"[\s-]", "", row.get("phone", ""))
    values["phone"] = phone or None
    values["record_book_no"] = row.get("record_book_no", "").strip() or None
    values["english_name"] = row.get("english_name", "").strip() or None
    balance = row.get("balance_hours", "").strip()
    if balance:
        try:
            values["balance_hours"] = float(balance)
        except ValueError:
            raise InputError(f"balance_hours: not a number: {balance!r}") from None
        if values["balance_date"] is None:
            raise InputError("balance_hours needs balance_date (the date of the balance)")
    return values


def _match(session: Session, values: dict) -> Volunteer | None:
    if values.get("record_book_no"):
        found = people_store.volunteer_with_record_book_no(session, values["record_book_no"])
        if found is not None:
            return found
    if values.get("phone"):
        return people_store.volunteer_with_phone(session, values["phone"])
    return None


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
