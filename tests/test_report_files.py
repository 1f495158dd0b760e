"""Issue 17: the report's spreadsheet and chart, the hours export and 我的紀錄 in the reader's language.

Opened as a coordinator opens them: the XLSX with openpyxl (sheet names, headers as the city's forms name them,
numbers as numbers, the header row frozen, columns wide enough for their words), the chart as pixels (its
words drawn with a CJK font, every unit in the legend or the top ones and 其他, round ticks).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pytest
from openpyxl import load_workbook
from PIL import Image, ImageChops, ImageDraw, ImageFont

from handlers.files import report
from handlers.files.my_records import records_csv
from handlers.i18n import Catalogs
from handlers.people import admin
from storage.db import UnitOfWork, make_engine, migrate
from tests.test_report import build, world  # noqa: F401  (the fixture: units A, B, C in 2026H1)

CATALOGS = Catalogs()
ZH, EN, TH = (CATALOGS.translator(locale) for locale in ("zh_TW", "en", "th"))
CJK_FONT = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 3)


def workbook(r: report.Report, t):
    return load_workbook(io.BytesIO(report.to_xlsx(r, t)))


def test_the_report_spreadsheet_speaks_chinese_as_the_citys_forms_do(world):  # noqa: F811
    uow, ids = world
    book = workbook(build(uow, "2026H1", ids["A"]), ZH)
    assert book.sheetnames == ["摘要", "未計入", "性別年齡", "單位"]
    summary = {row[0]: row[1] for row in book["摘要"].iter_rows(min_row=2, values_only=True)}
    assert (summary["服務人數"], summary["服務人次"], summary["服務時數"]) == (5, 6, 6.0)
    assert summary["期間"] == "2026H1" and summary["服務隊數"] == 1
    assert summary["高齡志工參與率（65歲以上）"] == 0.2 and summary["服務時數成長率"] == 3.0
    assert summary["投保人數"] == 2 and summary["持有紀錄冊人數"] == 1 and summary["持有榮譽卡人數"] == 1
    units = list(book["單位"].iter_rows(values_only=True))
    assert units[0][:5] == ("單位編號", "單位", "服務人數", "服務人次", "服務時數")
    assert units[1][:5] == (ids["A"], "臺北市立圖書館", 5, 6, 6.0)
    sex_age = list(book["性別年齡"].iter_rows(values_only=True))
    assert sex_age[0][0] == "性別" and sex_age[0][-1] == "合計" and "65歲以上" in sex_age[0]
    assert [row[0] for row in sex_age[1:]] == ["女", "男", "其他", "不詳", "合計"]
    assert book["未計入"]["A1"].value == "未計入"
    assert {row[0] for row in book["未計入"].iter_rows(min_row=2, values_only=True)} == {
        "紀錄冊時數結餘",
        "待審核",
        "完成訓練前的服務",
    }


def test_numbers_are_numbers_headers_frozen_and_columns_wide_enough(world):  # noqa: F811
    uow, ids = world
    book = workbook(build(uow, "2026H1", None), ZH)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.bold for cell in sheet[1] if cell.value is not None)
        for column in sheet.iter_cols():
            words = max(report.display_width(cell.value) for cell in column)
            width = sheet.column_dimensions[column[0].column_letter].width
            assert width >= min(words, 40), (sheet.title, column[0].column_letter, words, width)
    for row in book["單位"].iter_rows(min_row=2):
        assert all(cell.data_type == "n" for cell in row if cell.column != 2)  # all but the unit's name
    summary = {row[0].value: row[1] for row in book["摘要"].iter_rows(min_row=2)}
    assert summary["服務時數"].data_type == "n" and summary["服務時數"].number_format == "#,##0.00"
    assert summary["高齡志工參與率（65歲以上）"].number_format == "0.0%"
    assert summary["服務人數"].data_type == "n"
    growth = summary["服務人數成長率"]
    assert growth.data_type == "n" and growth.number_format == "0.0%"  # a fraction shown as a percentage


def test_the_report_spreadsheet_in_english_and_its_csv(world):  # noqa: F811
    uow, ids = world
    r = build(uow, "2026H1", ids["A"])
    assert workbook(r, EN).sheetnames == ["Summary", "Left out", "Sex and age", "Units"]
    rows = list(csv.reader(io.StringIO(report.to_csv(r, ZH).decode("utf-8-sig"))))
    assert rows[0] == ["區塊", "單位編號", "單位", "項目", "數值"]
    assert ["摘要", "", "", "服務人次", "6"] in rows


def many_units(count: int) -> report.Report:
    """A report of `count` units with made-up monthly hours (a chart needs no database)."""
    period = report.parse_period("2026H1")
    chance = random.Random(7)
    lines = []
    for n in range(count):
        monthly = {m: chance.randint(1, 400) * 60 for m in period.months()}
        name = ("臺北市社會局志工隊", "Nhà văn hóa Quận 1", "ศูนย์อาสาสมัคร", "大安區健康服務中心")[n % 4]
        lines.append(report.UnitLine(n + 1, f"{name} {n + 1}", 10, 20, sum(monthly.values()), monthly))
    lines.sort(key=lambda line: (-line.minutes, line.unit_id))
    total = sum(line.minutes for line in lines)
    return report.Report(period, None, {}, 0, 0, total, count, 0, 0, 0, 0, 0, 0, lines)


def drawn_alone(text: str, size: int, box: tuple[int, int]) -> Image.Image:
    font = ImageFont.truetype(CJK_FONT[0], size, index=CJK_FONT[1])
    image = Image.new("RGB", box, "white")
    ImageDraw.Draw(image).text((0, 0), text, fill="black", font=font)
    return image


@pytest.mark.parametrize("t", [ZH, TH], ids=["zh_TW", "th"])
def test_the_chart_speaks_the_readers_language_and_shows_every_unit_or_the_top_ones_and_others(t):
    r = many_units(12)
    series = report.chart_series(r, t)
    assert len(series) == report.CHART_UNITS + 1  # the top 8 and the other 4 summed
    assert [s.label for s in series[:-1]] == [line.name for line in r.units[:8]]
    others = t("Others ({count} units)", count=4)
    assert series[-1].label == others and series[-1].total_minutes == sum(u.minutes for u in r.units[8:])
    image = Image.open(io.BytesIO(report.to_png(r, t))).convert("RGB")
    # Each legend entry: its colour's square, one row each, below the plot.
    legend_top = 70 + 360 + 64
    for row, s in enumerate(series):
        colour = tuple(int(s.colour[i : i + 2], 16) for i in (1, 3, 5))
        assert image.getpixel((90 + 7, legend_top + 26 * row + 11)) == colour, s.label
    assert image.size[1] >= legend_top + 26 * len(series)  # nothing cut at the bottom
    if t is ZH:
        title = "2026H1 每月服務時數 · 全部單位"
        assert t("Service hours per month · {period} · {scope}", period="2026H1", scope="全部單位") == title
        box = (700, 34)
        crop = image.crop((90, 14, 90 + box[0], 14 + box[1]))
        # The title drawn with Noto Sans CJK: the very same pixels as the words drawn alone with that font.
        assert ImageChops.difference(crop, drawn_alone(title, 22, box)).getbbox() is None
        assert sum(crop.convert("L").histogram()[:200]) > 500  # words, not a blank


def test_a_few_units_are_all_in_the_legend():
    r = many_units(5)
    assert [s.label for s in report.chart_series(r, EN)] == [line.name for line in r.units]


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (973, [0, 200, 400, 600, 800, 1000]),
        (7.3, [0, 2, 4, 6, 8]),
        (12, [0, 2.5, 5, 7.5, 10, 12.5]),
        (0, [0, 1]),
        (100, [0, 20, 40, 60, 80, 100]),
        (1234, [0, 250, 500, 750, 1000, 1250]),
    ],
)
def test_the_charts_ticks_are_round(peak, ticks):
    assert report.round_ticks(peak) == ticks


@pytest.mark.parametrize(
    ("locale", "header", "kind", "status"),
    [
        ("zh_TW", ["日期", "單位", "類別", "開始", "結束", "時數", "狀態", "備註"], "服務", "已採計"),
        ("en", ["Date", "Unit", "Kind", "Start", "End", "Hours", "Status", "Note"], "Service", "Counted"),
    ],
)
def test_my_records_speak_the_persons_language(database_url, locale, header, kind, status):
    engine = make_engine(database_url)
    migrate(engine)
    now = dt.datetime(2026, 5, 1, 1, tzinfo=dt.UTC)
    with UnitOfWork(engine)() as s:
        unit = admin.add_unit(s, now, "test", name="臺北市立圖書館", category="culture", city="taipei")
        person, _ = admin.add_volunteer(
            s, now, "test", unit_id=unit.id, name="王小明", invite_valid_for=dt.timedelta(days=1)
        )
        admin.add_hours(
            s, now, "test", volunteer_id=person.id, unit_id=unit.id, day=dt.date(2026, 4, 2), hours=2
        )
        s.commit()
        data, count, minutes = records_csv(s, person.id, report_zone(), CATALOGS.translator(locale))
    engine.dispose()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == header and (count, minutes) == (1, 120)
    assert rows[1][2] == kind and rows[1][5] == "2.00" and rows[1][6] == status


def report_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Taipei")
