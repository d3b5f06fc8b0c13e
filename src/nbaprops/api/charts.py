"""Plotly charts of the performance page, as ``<div>`` fragments (plotly.js is served by the app).

Each function takes the records of :mod:`nbaprops.queries.dashboard` and returns HTML to embed.
The same numbers are always printed in a table next to the chart, so the page is complete without
JavaScript; the charts are an addition. Figures are plain plotly JSON dicts rendered without
``graph_objects`` validation: building validated figure objects costs more than the page's queries.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import plotly.io as pio

__all__ = ["calibration_chart", "distribution_chart", "figure_div", "game_log_chart", "hit_rate_chart",
           "line_history_chart", "mae_chart", "minutes_chart", "roi_chart"]

_LAYOUT: dict[str, Any] = {
    "height": 360,
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "legend": {"orientation": "h", "y": -0.2},
}


def figure_div(data: list[dict[str, Any]], layout: dict[str, Any], div_id: str) -> str:
    """A figure as an embeddable ``<div>`` (no plotly.js, no CDN: the page loads the served copy).

    Args:
        data: Plotly traces.
        layout: Plotly layout (merged over the dashboard's defaults).
        div_id: The id of the chart ``<div>`` (stable, so tests and links can find it).

    Returns:
        HTML.
    """
    fig = {"data": data, "layout": {"template": _template(), **_LAYOUT, **layout}}
    html: str = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, validate=False,
                            config={"displaylogo": False, "responsive": True})
    return html


@functools.cache
def _template() -> dict[str, Any]:
    """The ``plotly_white`` template as plain JSON (plotly.js knows no template names)."""
    template: dict[str, Any] = pio.templates["plotly_white"].to_plotly_json()
    return template


def _hline(y: float, color: str, text: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A dashed horizontal line across the plot, with an optional label at its left end."""
    shape = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
             "line": {"dash": "dash", "color": color}}
    notes = [{"xref": "paper", "x": 0, "yref": "y", "y": y, "text": text, "showarrow": False,
              "xanchor": "left", "yanchor": "bottom"}] if text else []
    return shape, notes


def _by_system(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(str(r["system_id"]), []).append(r)
    return out


def hit_rate_chart(by_date: Sequence[dict[str, Any]], break_even: float) -> str:
    """Cumulative hit rate per system over time, with the -110 break-even line.

    Args:
        by_date: Per (game_date, system_id) records with ``cum_hit_rate`` and ``cum_bets``.
        break_even: The break-even hit rate.

    Returns:
        HTML of the chart.
    """
    data = [{"type": "scatter", "mode": "lines+markers", "name": system,
             "x": [str(r["game_date"]) for r in recs], "y": [r["cum_hit_rate"] for r in recs],
             "text": [f"bets={r['cum_bets']}" for r in recs]}
            for system, recs in _by_system(by_date).items()]
    shape, notes = _hline(break_even, "red", f"break-even {break_even:.2%} (-110)")
    return figure_div(data, {"title": {"text": "Hit rate over time (cumulative, bets on real lines)"},
                             "xaxis": {"title": {"text": "slate date"}, "type": "category"},
                             "yaxis": {"title": {"text": "hit rate"}, "tickformat": ".0%", "range": [0, 1]},
                             "shapes": [shape], "annotations": notes}, "chart-hit-rate")


def roi_chart(by_date: Sequence[dict[str, Any]]) -> str:
    """Cumulative ROI per system over time.

    Args:
        by_date: Per (game_date, system_id) records with ``cum_roi``.

    Returns:
        HTML of the chart.
    """
    data = [{"type": "scatter", "mode": "lines+markers", "name": system,
             "x": [str(r["game_date"]) for r in recs], "y": [r["cum_roi"] for r in recs]}
            for system, recs in _by_system(by_date).items()]
    shape, _ = _hline(0.0, "grey")
    return figure_div(data, {"title": {"text": "ROI over time (cumulative profit / bets, 1 unit at posted prices)"},
                             "xaxis": {"title": {"text": "slate date"}, "type": "category"},
                             "yaxis": {"title": {"text": "ROI"}, "tickformat": ".0%"},
                             "shapes": [shape]}, "chart-roi")


def calibration_chart(calibration: Sequence[dict[str, Any]]) -> str:
    """Mean predicted P(over) against the observed over rate per bin, per system.

    Args:
        calibration: Per (system_id, bin) records with ``p_mean``, ``observed`` and ``n``.

    Returns:
        HTML of the chart.
    """
    data: list[dict[str, Any]] = [{"type": "scatter", "mode": "lines", "name": "perfect calibration",
                                   "x": [0, 1], "y": [0, 1], "line": {"dash": "dash", "color": "grey"}}]
    data += [{"type": "scatter", "mode": "lines+markers", "name": system,
              "x": [r["p_mean"] for r in recs], "y": [r["observed"] for r in recs],
              "text": [f"n={r['n']}" for r in recs]}
             for system, recs in _by_system(calibration).items()]
    return figure_div(data, {"title": {"text": "Calibration of P(over): predicted vs observed"},
                             "xaxis": {"title": {"text": "mean predicted P(over)"}, "range": [0, 1]},
                             "yaxis": {"title": {"text": "observed over rate"}, "range": [0, 1]}},
                      "chart-calibration")


def mae_chart(by_system: Sequence[dict[str, Any]]) -> str:
    """Model MAE next to the line's MAE on the same rows, per system.

    Args:
        by_system: Per system records with ``mae``, ``line_mae`` and ``mae_rows``.

    Returns:
        HTML of the chart.
    """
    systems = [str(r["system_id"]) for r in by_system]
    n = [f"n={r['mae_rows']}" for r in by_system]
    data = [{"type": "bar", "name": "model MAE", "x": systems, "y": [r["mae"] for r in by_system], "hovertext": n},
            {"type": "bar", "name": "line MAE (same rows)", "x": systems, "y": [r["line_mae"] for r in by_system],
             "hovertext": n}]
    return figure_div(data, {"title": {"text": "MAE vs the line's MAE on the same rows"},
                             "yaxis": {"title": {"text": "points"}}, "barmode": "group"}, "chart-mae")


# ------------------------------------------------------------------------------------------ player page
_OVER, _UNDER, _PUSH = "#0b7a3e", "#b42318", "#667085"


def _game_label(g: dict[str, Any]) -> str:
    return f"{g['game_date']} {'vs' if g.get('is_home') else '@'} {g.get('opp_abbr')}"


def game_log_chart(games: Sequence[dict[str, Any]], line: float | None, label: str) -> str:
    """The stat of the last games (oldest left) as bars coloured by side of tonight's line, the line dashed.

    Args:
        games: Newest first, with ``game_date``, ``opp_abbr``, ``is_home``, ``value`` and ``side``.
        line: Tonight's line (None: no line drawn).
        label: The market's label.

    Returns:
        HTML of the chart.
    """
    ordered = list(reversed(games))
    colors = [_OVER if g["side"] == "OVER" else _UNDER if g["side"] == "UNDER" else _PUSH for g in ordered]
    data = [{"type": "bar", "name": label, "x": [_game_label(g) for g in ordered], "y": [g["value"] for g in ordered],
             "marker": {"color": colors}, "hovertemplate": "%{x}: %{y}<extra></extra>"}]
    layout: dict[str, Any] = {"title": {"text": f"{label}: last {len(ordered)} games vs tonight's line"},
                              "xaxis": {"type": "category", "tickangle": -45}, "yaxis": {"title": {"text": label}},
                              "showlegend": False, "margin": {"l": 60, "r": 20, "t": 50, "b": 110}}
    if line is not None:
        shape, notes = _hline(line, "#14213d", f"line {line:g}")
        layout.update(shapes=[shape], annotations=notes)
    return figure_div(data, layout, "chart-games")


def minutes_chart(games: Sequence[dict[str, Any]]) -> str:
    """Minutes of the last games (oldest left)."""
    ordered = list(reversed(games))
    data = [{"type": "scatter", "mode": "lines+markers", "name": "minutes", "x": [_game_label(g) for g in ordered],
             "y": [g["minutes"] for g in ordered]}]
    return figure_div(data, {"title": {"text": "Minutes trend"}, "xaxis": {"type": "category", "tickangle": -45},
                             "yaxis": {"title": {"text": "minutes"}, "rangemode": "tozero"}, "showlegend": False,
                             "margin": {"l": 60, "r": 20, "t": 50, "b": 110}}, "chart-minutes")


def line_history_chart(history: Sequence[dict[str, Any]]) -> str:
    """Every quote of the day: line against quote time, one trace per book (in-game quotes hollow)."""
    books: dict[str, list[dict[str, Any]]] = {}
    for q in history:
        if q.get("quoted_at") is not None:
            books.setdefault(str(q["sportsbook"]), []).append(q)
    data = [{"type": "scatter", "mode": "lines+markers", "name": book, "line": {"shape": "hv"},
             "x": [str(q["quoted_at"]) for q in qs], "y": [q["line"] for q in qs],
             "marker": {"symbol": ["circle" if q["pre_tip"] else "circle-open" for q in qs], "size": 9},
             "text": [f"over {q['over_price']} / under {q['under_price']}" for q in qs]}
            for book, qs in sorted(books.items())]
    return figure_div(data, {"title": {"text": "The line through the day (hollow: in-game quote)"},
                             "xaxis": {"title": {"text": "quoted at (UTC)"}}, "yaxis": {"title": {"text": "line"}}},
                      "chart-line-history")


def distribution_chart(dist: dict[str, Any]) -> str:
    """The predictive distribution of points, model-only and blended, with the line and both P(over).

    Args:
        dist: :func:`nbaprops.queries.player.model_distribution`'s record.

    Returns:
        HTML of the chart.
    """
    data = [{"type": "bar", "name": f"model only (mean {dist['model_mean']:.1f})", "x": dist["points"],
             "y": dist["model_pmf"], "opacity": 0.55, "marker": {"color": "#1f4e9c"}},
            {"type": "scatter", "mode": "lines", "name": f"blended (mean {dist['blended_mean']:.1f})",
             "x": dist["points"], "y": dist["blended_pmf"], "line": {"color": "#fca311", "width": 3, "shape": "hvh"}}]
    layout: dict[str, Any] = {"title": {"text": f"{dist['system_id']}: predictive distribution of points "
                                                f"({dist['family']}, sd {dist['scale']:.1f})"},
                              "xaxis": {"title": {"text": "points"}}, "yaxis": {"title": {"text": "probability"},
                                                                               "tickformat": ".0%"},
                              "barmode": "overlay"}
    line = dist.get("line")
    if line is not None:
        def pct(x: Any) -> str:
            return "n/a" if x is None else f"{x:.1%}"
        layout["shapes"] = [{"type": "line", "xref": "x", "x0": line, "x1": line, "yref": "paper", "y0": 0, "y1": 1,
                             "line": {"dash": "dash", "color": "#14213d"}}]
        layout["annotations"] = [{"xref": "x", "x": line, "yref": "paper", "y": 1, "xanchor": "left",
                                  "yanchor": "top", "showarrow": False, "align": "left",
                                  "text": f"line {line:g}<br>P(over) model {pct(dist['model_p_over'])}"
                                          f"<br>P(over) blended {pct(dist['blended_p_over'])}"}]
    return figure_div(data, layout, "chart-distribution")
