"""The portfolio report as one self-contained HTML page.

The page needs no network: the plotly.js shipped inside the ``plotly`` wheel
(``plotly/package_data/plotly.min.js``) is inlined, and so are the styles and the chart
data. It opens from a file, an e-mail attachment or an intranet share alike.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

import tiering
from tiering.output import write_atomically
from tiering.reports import charts
from tiering.reports.labels import label, lang_key, money, pct
from tiering.reports.layout import Block, Section, cell_kind, fmt, sections
from tiering.reports.report import Report

NUMERIC = ("int", "money", "share", "number", "index", "days")
CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
:root { --ink:#1a202c; --muted:#4a5568; --line:#e2e8f0; --band:#f7fafc; --accent:#2b6cb0; }
* { box-sizing: border-box; }
body { margin:0; font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",
  system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:#fff;
  line-height:1.5; }
header { padding:28px 40px 18px; border-bottom:3px solid var(--accent); background:var(--band); }
header h1 { margin:0 0 4px; font-size:26px; }
header p { margin:0; color:var(--muted); }
nav { padding:10px 40px; border-bottom:1px solid var(--line); font-size:14px; }
nav a { margin-right:18px; color:var(--accent); text-decoration:none; }
main { padding:8px 40px 40px; max-width:1200px; }
section { margin-top:30px; }
h2 { font-size:20px; border-bottom:1px solid var(--line); padding-bottom:6px; }
h3 { font-size:15px; margin:20px 0 6px; color:var(--muted); }
.verdict { display:inline-block; padding:6px 18px; border-radius:18px; font-size:18px;
  font-weight:700; color:#fff; }
.verdict-worth-it { background:#2f855a; } .verdict-marginal { background:#b7791f; }
.verdict-not-worth-it { background:#c53030; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:16px 0; }
.card { border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:130px; }
.card .v { font-size:22px; font-weight:700; } .card .k { font-size:13px; color:var(--muted); }
table { border-collapse:collapse; margin:6px 0 10px; font-size:14px; }
th, td { padding:5px 12px; border-bottom:1px solid var(--line); text-align:left;
  vertical-align:top; }
th { background:var(--band); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
tr.total td { font-weight:700; border-top:2px solid var(--muted); }
.status-met { color:#2f855a; font-weight:600; } .status-partly { color:#b7791f; font-weight:600; }
.status-not_met { color:#c53030; font-weight:600; }
.neg { color:#c53030; }
.chart { width:100%; min-height:380px; margin:8px 0; }
.note, .more { color:var(--muted); font-size:13px; }
footer { padding:16px 40px; color:var(--muted); font-size:12px; border-top:1px solid var(--line); }
@media print { nav { display:none; } section { break-inside:avoid-page; } }
"""


def write_html(
    report: Report, path: str | Path, lang: str | None = None, *, max_rows: int = 50
) -> Path:
    """Write ``report`` as one self-contained HTML page to ``path``, atomically.

    ``lang`` (``"en"``/``"zh"``; default: the report's) sets every label. Charts: the
    tier distribution (share of customers and of revenue), the Pareto curve, the ten
    largest customers against the concentration alert line, and the migration heatmap
    when the report has a previous output (and the what-if heatmap when it has a
    comparison). Lists of customers show their first ``max_rows`` rows; the workbook has
    all of them. Returns the path."""
    page = render_html(report, lang, max_rows=max_rows)
    data = page.encode("utf-8")

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    return write_atomically(path, write)


def render_html(report: Report, lang: str | None = None, *, max_rows: int = 50) -> str:
    """The page as a string (see :func:`write_html`)."""
    lang = lang_key(lang or report.lang)
    title = report.title or label("title", lang)
    figures = _figures(report, lang)
    body = []
    nav = []
    for section in sections(report, lang):
        nav.append(f'<a href="#{section.key}">{_e(section.title)}</a>')
        body.append(_section(section, report, lang, figures, max_rows))
    subtitle = label("customers_count", lang).format(customers=f"{report.customers:,}")
    if report.as_of is not None:
        subtitle = label("customers_as_of", lang).format(
            customers=f"{report.customers:,}", as_of=report.as_of.isoformat()
        )
    chart_data = {key: json.loads(pio.to_json(fig, validate=False)) for key, fig in figures.items()}
    script = (
        "(function () {\n"
        f"  var charts = {_script_json(chart_data)};\n"
        f"  var config = {_script_json(CONFIG)};\n"
        "  Object.keys(charts).forEach(function (id) {\n"
        "    Plotly.newPlot(id, charts[id].data, charts[id].layout, config);\n"
        "  });\n"
        "})();"
    )
    footer = label("generated_by", lang).format(version=tiering.__version__)
    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{"zh-Hans" if lang == "zh" else "en"}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{STYLE}</style>",
            f"<script>{plotly_js}</script>",
            "</head>",
            "<body>",
            f"<header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header>",
            f"<nav>{''.join(nav)}</nav>",
            "<main>",
            *body,
            "</main>",
            f"<footer>{_e(footer)}</footer>",
            f"<script>{script}</script>",
            "</body>",
            "</html>",
        ]
    )


def _figures(report: Report, lang: str) -> dict[str, go.Figure]:
    figures = {
        "chart-distribution": charts.distribution_chart(report, lang),
        "chart-pareto": charts.pareto_chart(report, lang),
    }
    if report.concentration.top10:
        figures["chart-top10"] = charts.top10_chart(report, lang)
    if report.migration is not None:
        figures["chart-migration"] = charts.migration_chart(
            report.migration, lang, label("previous_tier", lang), label("current_tier", lang)
        )
    if report.comparison is not None:
        figures["chart-comparison"] = charts.migration_chart(
            report.comparison.matrix,
            lang,
            label("current_rules_tier", lang),
            label("proposed_tier", lang),
        )
    return figures


#: Which chart goes in which section.
SECTION_CHARTS = {
    "distribution": "chart-distribution",
    "concentration": "chart-top10",
    "pareto": "chart-pareto",
    "migration": "chart-migration",
    "comparison": "chart-comparison",
}


def _section(section: Section, report: Report, lang: str, figures: dict, max_rows: int) -> str:
    parts = [f'<section id="{section.key}">', f"<h2>{_e(section.title)}</h2>"]
    if section.verdict is not None:
        css = "verdict-" + section.verdict.replace(" ", "-")
        parts.append(
            f'<p><span class="verdict {css}">{_e(label(section.verdict, lang))}</span></p>'
        )
        parts.append(_cards(report, lang))
    parts += [f"<p>{_e(p)}</p>" for p in section.paragraphs]
    chart = SECTION_CHARTS.get(section.key)
    if chart in figures:
        parts.append(f'<div id="{chart}" class="chart"></div>')
    for block in section.blocks:
        # the Pareto points are for the workbook; the measures are on the cards
        if not block.detail and block.key != "measures":
            parts.append(_table(block, lang, max_rows))
    parts.append("</section>")
    return "\n".join(parts)


def _cards(report: Report, lang: str) -> str:
    a, c = report.assessment, report.concentration
    cards = [
        ("customers", f"{a.customers:,}"),
        ("repeat_rate", pct(a.repeat_rate)),
        ("top20_share", pct(a.top20_share)),
        ("top1_share", pct(a.top1_share)),
        ("gini", "—" if a.gini is None else f"{a.gini:.3f}"),
        ("hhi", f"{c.hhi:,.0f}"),
        (a.value, money(a.total_value, 0)),
    ]
    items = "".join(
        f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(label(k, lang))}</div>'
        "</div>"
        for k, v in cards
    )
    return f'<div class="cards">{items}</div>'


def _table(block: Block, lang: str, max_rows: int) -> str:
    parts = []
    if block.caption:
        parts.append(f"<h3>{_e(block.caption)}</h3>")
    if not block.rows:
        if block.empty:
            parts.append(f'<p class="note">{_e(block.empty)}</p>')
        return "\n".join(parts)
    head = "".join(
        f'<th class="num">{_e(c.header)}</th>' if c.kind in NUMERIC else f"<th>{_e(c.header)}</th>"
        for c in block.columns
    )
    rows = block.rows[:max_rows] if block.listing else block.rows
    lines = [f'<table class="t-{_e(block.key)}"><thead><tr>{head}</tr></thead><tbody>']
    for i, row in enumerate(rows):
        total = block.total_last and i == len(block.rows) - 1
        cells = []
        for column, value in zip(block.columns, row, strict=True):
            kind = cell_kind(column, value)
            text = _e(fmt(value, kind, lang))
            classes = []
            if kind in NUMERIC:
                classes.append("num")
                raw = getattr(value, "value", value)
                if isinstance(raw, int | float) and raw < 0:
                    classes.append("neg")
            if kind == "status":
                classes.append("status-" + str(getattr(value, "value", value)))
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{text}</td>")
        lines.append(f"<tr{' class=total' if total else ''}>{''.join(cells)}</tr>")
    lines.append("</tbody></table>")
    parts.append("".join(lines))
    if len(block.rows) > len(rows):
        more = label("more_rows", lang).format(n=f"{len(block.rows) - len(rows):,}")
        parts.append(f'<p class="more">{_e(more)}</p>')
    return "\n".join(parts)


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _script_json(value) -> str:
    """JSON safe inside a <script> element (no "</" that could close it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
