"""The report's charts as Plotly figures (rendered by the plotly.js bundled in the page)."""

from __future__ import annotations

import plotly.graph_objects as go

from tiering.reports.labels import in_sentence, label, money, pct
from tiering.reports.layout import visible_columns, visible_rows
from tiering.reports.portfolio import GONE, NEW, Migration
from tiering.reports.report import Report

#: Fonts that carry Chinese glyphs on Linux, macOS and Windows, then any sans-serif.
FONT = "Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
BLUE, ORANGE, GREEN, RED, GREY = "#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#a0aec0"


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        font={"family": FONT, "size": 12},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def distribution_chart(report: Report, lang: str) -> go.Figure:
    """Share of customers and of revenue per tier, side by side."""
    rows = [r for r in report.distribution if r["tier"] is not None]
    tiers = [r["tier"] for r in rows]
    fig = go.Figure()
    for key, colour in (("customers_share", BLUE), ("revenue_share", ORANGE)):
        values = [r[key] for r in rows]
        fig.add_bar(
            x=tiers,
            y=values,
            name=label(key, lang),
            marker_color=colour,
            text=[pct(v) for v in values],
            textposition="outside",
            cliponaxis=False,
        )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category", title=label("tier", lang))
    return _layout(fig, label("chart_distribution", lang))


def pareto_chart(report: Report, lang: str) -> go.Figure:
    """The Pareto curve, the diagonal of an even spread, and the top-20% point."""
    lz = report.lorenz
    value = in_sentence(lz.value, lang)
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        name=label("even_spread", lang),
        line={"color": GREY, "dash": "dash"},
    )
    fig.add_scatter(
        x=list(lz.customer_share),
        y=list(lz.value_share),
        mode="lines",
        name=label("pareto_curve", lang),
        line={"color": BLUE, "width": 3},
        fill="tozeroy",
        fillcolor="rgba(43,108,176,0.12)",
    )
    top20 = report.assessment.top20_share
    fig.add_scatter(
        x=[0.2],
        y=[top20],
        mode="markers+text",
        marker={"color": ORANGE, "size": 11},
        text=["20% → " + pct(top20, 0)],
        textposition="bottom right",
        showlegend=False,
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title=label("customer_share", lang))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], title=label("value_share", lang))
    return _layout(fig, label("pareto_curve", lang) + " · " + value, height=420)


def top10_chart(report: Report, lang: str) -> go.Figure:
    """The ten largest customers' shares of revenue, with the alert line."""
    c = report.concentration
    names = [_short(s.customer_id, s.name) for s in c.top10]
    shares = [s.share for s in c.top10]
    colours = [RED if s >= c.alert_share else BLUE for s in shares]
    fig = go.Figure()
    fig.add_bar(
        x=shares[::-1],
        y=names[::-1],
        orientation="h",
        marker_color=colours[::-1],
        text=[pct(s) for s in shares[::-1]],
        textposition="outside",
        cliponaxis=False,
        customdata=[money(s.revenue) for s in c.top10][::-1],
        hovertemplate="%{y}<br>%{customdata}<br>%{x:.1%}<extra></extra>",
        showlegend=False,
    )
    fig.add_vline(
        x=c.alert_share,
        line={"color": RED, "dash": "dot"},
        annotation_text=label("alert_line", lang).format(share=pct(c.alert_share, 0)),
        annotation_position="top",
    )
    top = max([*shares, c.alert_share]) if shares else c.alert_share
    fig.update_xaxes(tickformat=".0%", range=[0, top * 1.2])
    fig.update_yaxes(type="category", automargin=True)
    return _layout(fig, label("top10_chart", lang), height=420)


def migration_chart(m: Migration, lang: str, row_title: str, col_title: str) -> go.Figure:
    """A heatmap of the migration matrix: counts, with the revenue on hover."""

    def name(t: str) -> str:
        return label(t, lang) if t in (NEW, GONE) else t

    rows, columns = visible_rows(m), visible_columns(m)
    ys = [name(m.rows[i]) for i in rows]
    xs = [name(m.columns[j]) for j in columns]
    z = [[m.counts[i][j] for j in columns] for i in rows]
    revenue = [[money(m.revenue[i][j]) for j in columns] for i in rows]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=xs,
            y=ys,
            text=[[f"{v:,}" for v in r] for r in z],
            texttemplate="%{text}",
            customdata=revenue,
            hovertemplate=row_title
            + " %{y} → "
            + col_title
            + " %{x}<br>%{z}<br>%{customdata}<extra></extra>",
            colorscale="Blues",
            showscale=False,
        )
    )
    fig.update_xaxes(type="category", side="top", title=col_title)
    fig.update_yaxes(type="category", autorange="reversed", title=row_title)
    _layout(fig, label("chart_migration", lang), height=120 + 60 * len(ys))
    fig.update_layout(margin={"t": 100})
    return fig


def _short(customer_id: str, name: str | None, width: int = 16) -> str:
    if not name:
        return customer_id
    if len(name) > width:
        name = name[: width - 1] + "…"
    return customer_id + " " + name
