"""The report's cells and bars are drawn in Python, not by the template: what they carry (a
member's id or a role's name from WapiKit in a link, a bucket's label in a bar's title) is
escaped as the template would escape it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils.html import escape

from dashboard.reporting.periods import Bucket
from dashboard.reports.shape import Cell, bar_chart, list_url

HOSTILE = '"><script>alert(1)</script>&'


def test_a_cell_escapes_its_text_and_its_link():
    href = list_url({"since": "2026-11-23"}, "closed", role=HOSTILE)
    html = str(Cell(3, HOSTILE, href).html)
    assert "<script>" not in html and html == f'<a href="{escape(href)}">{escape(HOSTILE)}</a>'
    assert str(Cell(None, HOSTILE).html) == f'<span class="muted">{escape(HOSTILE)}</span>'


def test_a_bar_s_title_is_escaped():
    moment = datetime(2026, 11, 23, tzinfo=UTC)
    bucket = Bucket(key=date(2026, 11, 23), label=HOSTILE, start=moment, end=moment)
    svg = str(bar_chart([(bucket, Cell(2, "2"))]).bars_svg)
    assert "<script>" not in svg and f"<title>{escape(HOSTILE)}: 2</title>" in svg
