"""HTML tables of the reports (per recording and the study report): rows of records, and
settings or model details as key-value tables, nested where a value is itself a mapping
(never a Python dict's text)."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

STYLE = """<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
table.settings th { font-weight: normal; color: #555; background: #f6f6f6; }
table.settings table { font-size: 1em; }
img { max-width: 100%; margin: 0.3em; vertical-align: top; }
.prior { background: #fff3cd; border: 1px solid #e0c36a; padding: 0.5em 0.8em; }
</style>"""


def text(value: Any) -> str:
    """A scalar as a cell shows it: empty for None and NaN, else its str, escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value))


def table(rows: Sequence[Mapping[str, Any]], empty: str = "No rows.") -> str:
    """Records as one table, the columns in order of first appearance."""
    if not rows:
        return f"<p>{html.escape(empty)}</p>"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{text(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def value_cell(value: Any) -> str:
    """A mapping as a nested key-value table, a list as its items joined, else the value."""
    if isinstance(value, Mapping):
        return key_value_table(value.items()) if value else "(none)"
    if isinstance(value, (list, tuple)):
        return ", ".join(value_cell(item) for item in value) if value else "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return text(value)


def key_value_table(pairs: Iterable[tuple[Any, Any]]) -> str:
    """One row per key: the key as a header cell, the value as `value_cell` shows it."""
    rows = "".join(f"<tr><th>{html.escape(str(key))}</th><td>{value_cell(value)}</td></tr>" for key, value in pairs)
    return f"<table class='settings'>{rows}</table>"
