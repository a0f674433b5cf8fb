"""The report's CSVs: each table as the page shows it, and one row per conversation."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse

from dashboard.reporting import figures

from .shape import BACKLOG_SERIES, FigureView
from .tables import CONVERSATION_COLUMNS, Row


def _answer(name: str, header: list[str], rows: list[list]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows([["" if value is None else _defused(value) for value in row] for row in rows])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="wapikit-report-{name}.csv"'
    return response


def _defused(value) -> str:
    """A member's or role's name comes from WapiKit: a spreadsheet must never read it as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _shown(cell) -> object:
    return cell.value if cell.value is not None else cell.text


def figure_csv(view: FigureView) -> HttpResponse:
    rows = [[bucket.key.isoformat(), bucket.label, _shown(value)] for bucket, value in view.rows]
    rows.append(["", "Total", _shown(view.total)])
    return _answer(view.key.replace("_", "-"), ["period_starts", "period", view.key], rows)


def figures_csv(views: list[FigureView]) -> HttpResponse:
    header = ["period_starts", "period"] + [view.key for view in views]
    rows = [
        [bucket.key.isoformat(), bucket.label] + [_shown(view.rows[index][1]) for view in views]
        for index, (bucket, _) in enumerate(views[0].rows)
    ]
    rows.append(["", "Total"] + [_shown(view.total) for view in views])
    return _answer("figures", header, rows)


def people_csv(name: str, first: str, rows: list[Row]) -> HttpResponse:
    header = [first, "detail", *figures.MEMBER_FIGURES]
    return _answer(name, header, [[row.name, row.detail] + [_shown(c) for _, c in row.cells] for row in rows])


def backlog_csv(rows) -> HttpResponse:
    header = ["period_starts", "period", "snapshot_at"] + [name for name, _ in BACKLOG_SERIES]
    lines = [
        [bucket.key.isoformat(), bucket.label] + (
            [counts["at"].isoformat()] + [counts[name] for name, _ in BACKLOG_SERIES] if counts
            else ["not observed"] + [""] * len(BACKLOG_SERIES)
        )
        for bucket, counts in rows
    ]
    return _answer("backlog", header, lines)


def conversations_csv(rows: list[dict]) -> HttpResponse:
    return _answer("conversations", list(CONVERSATION_COLUMNS), [[row[c] for c in CONVERSATION_COLUMNS] for row in rows])
