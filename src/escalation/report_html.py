"""The HTML building blocks of a report: the page, its style sheet, tables and images.

Everything here escapes what it is given, except :class:`Markup`, which callers
build from escaped parts.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from string import Template
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from escalation.plots.canvas import figure_bytes

__all__ = [
    "Markup",
    "code",
    "escape",
    "frame_table",
    "image",
    "number",
    "page",
    "paragraphs",
    "percent",
    "quote",
    "table",
]

PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>$title</title>
<style>
:root { --ink: #222; --muted: #666; --rule: #ddd; --band: #f4f6f8; --accent: #0077bb; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
header { background: var(--band); border-bottom: 1px solid var(--rule); }
header .inner, main { max-width: 1000px; margin: 0 auto; padding: 0 24px; }
header .inner { padding-top: 20px; padding-bottom: 14px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 36px 0 8px; padding-top: 8px; border-top: 2px solid var(--ink); }
h3 { font-size: 1.05rem; margin: 22px 0 6px; }
p.lead { margin: 4px 0 10px; color: #333; max-width: 75ch; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 8px 0 0; padding: 0;
  list-style: none; color: var(--muted); font-size: 0.9rem; }
.facts b { color: var(--ink); font-weight: 600; }
nav { font-size: 0.9rem; margin-top: 10px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
figure { margin: 14px 0 18px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 4px; max-width: 80ch; }
.table { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 0.88rem; min-width: 50%; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 0.82rem; }
td code { white-space: pre-wrap; }
td:first-child { white-space: nowrap; }
tr.noted td { border-bottom: none; padding-bottom: 0; }
tr.note td { padding-top: 2px; padding-left: 24px; white-space: normal; }
blockquote { margin: 0; padding-left: 8px; border-left: 3px solid var(--rule); color: #444;
  font-style: italic; max-width: 90ch; }
pre { background: var(--band); padding: 10px; overflow-x: auto; }
details { margin: 6px 0 14px; }
summary { cursor: pointer; color: var(--accent); }
.note { color: var(--muted); font-size: 0.9rem; }
footer { max-width: 1000px; margin: 40px auto 30px; padding: 0 24px; color: var(--muted);
  font-size: 0.8rem; }
</style>
</head>
<body>
<header><div class="inner">
<h1>$title</h1>
$lead
<ul class="facts">$facts</ul>
<nav>$nav</nav>
</div></header>
<main>
$body
</main>
<footer>Written by escalation $version. Figures and tables are computed from the results
folder's files; the provenance section says how they were made.</footer>
</body>
</html>
"""
)


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Sequence[int] = (),
    notes: Sequence[Any] | None = None,
) -> str:
    """An HTML table; cells are escaped unless they are already markup (``Markup``).

    ``notes``, one per row, are set on a full-width line under their row (a quote
    too long for a column); an empty note adds no line.
    """

    def cell(tag: str, index: int, value: Any) -> str:
        cls = ' class="num"' if index in numeric else ""
        text = value.text if isinstance(value, Markup) else escape(value)
        return f"<{tag}{cls}>{text}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    lines = []
    for index, row in enumerate(rows):
        note = notes[index] if notes is not None else ""
        cells = "".join(cell("td", i, v) for i, v in enumerate(row))
        if not note:
            lines.append(f"<tr>{cells}</tr>")
            continue
        text = note.text if isinstance(note, Markup) else escape(note)
        lines.append(f'<tr class="noted">{cells}</tr>')
        lines.append(f'<tr class="note"><td colspan="{len(header)}">{text}</td></tr>')
    body = "\n".join(lines)
    return (
        f'<div class="table"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


class Markup:
    """Text that is already safe HTML (built here from escaped parts)."""

    def __init__(self, text: str) -> None:
        self.text = text


def code(value: Any, *, break_names: bool = True) -> Markup:
    """Code type; a long name may break after an underscore or a dot (``break_names``).

    Expressions are better left to break at their spaces alone.
    """
    text = escape(value)
    if break_names:
        text = text.replace("_", "_<wbr>").replace(".", ".<wbr>")
    return Markup(f"<code>{text}</code>")


def quote(value: str) -> Markup:
    return Markup(f"<blockquote>{escape(value)}</blockquote>" if value else "")


def paragraphs(text: str, cls: str = "lead") -> str:
    parts = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "\n".join(f'<p class="{cls}">{escape(" ".join(p.split()))}</p>' for p in parts)


def percent(value: float) -> str:
    return "-" if pd.isna(value) else f"{100 * value:.1f}%"


def number(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def image(figure: Figure, alt: str, caption: str = "") -> str:
    data = base64.b64encode(figure_bytes(figure, format="png", dpi=120)).decode("ascii")
    figure.clear()
    note = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}">{note}</figure>'


def page(
    title: str, description: str, facts: dict[str, str], sections: list[tuple[str, str, str]]
) -> str:
    """The whole page: a header with the facts and a contents line, then the sections.

    ``sections`` are (anchor, heading, HTML body) triples.
    """
    from escalation import __version__

    return PAGE.substitute(
        {
            "title": escape(title),
            "lead": paragraphs(description),
            "facts": "".join(f"<li>{escape(k)}: <b>{escape(v)}</b></li>" for k, v in facts.items()),
            "nav": "".join(f'<a href="#{key}">{escape(name)}</a>' for key, name, _ in sections),
            "body": "\n".join(
                f'<section id="{key}"><h2>{escape(name)}</h2>\n{body}</section>'
                for key, name, body in sections
            ),
            "version": escape(__version__),
        }
    )


def frame_table(frame: pd.DataFrame) -> str:
    """A data frame as an HTML table, numbers to three significant digits."""
    numeric = [i for i, c in enumerate(frame.columns) if pd.api.types.is_numeric_dtype(frame[c])]
    rows = [
        [(f"{v:.3g}" if isinstance(v, float) else v) if not pd.isna(v) else "-" for v in record]
        for record in frame.itertuples(index=False)
    ]
    return table([str(c) for c in frame.columns], rows, numeric)
