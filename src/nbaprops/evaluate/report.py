"""Render a grading report: ``report.md``, ``metrics.json`` and plots (HTML via plotly, PNG via matplotlib).

Nothing here touches the warehouse: the caller passes a graded frame (``grade_predictions`` output, with
optional ``closing_line``/closing prices for CLV). HTML plots load plotly.js from a file written next to
them (``include_plotlyjs='directory'``), never from a CDN, so reports open offline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nbaprops._version import __version__
from nbaprops.evaluate.metrics import DEFAULT_BY, MARKET_COLUMN, market_by, summarize
from nbaprops.markets import POINTS, get_market
from nbaprops.odds import BREAK_EVEN_MINUS_110

__all__ = ["NO_EDGE_PHRASE", "line_verdict", "verdict", "write_report"]

#: The exact phrase used whenever recommended bets do not beat break-even (tests and readers grep it).
NO_EDGE_PHRASE = "no demonstrated edge"


# --------------------------------------------------------------------------------------------------
# formatting


def _isnum(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(float(x))


def _pct(x: Any, digits: int = 1) -> str:
    return f"{100 * float(x):.{digits}f}%" if _isnum(x) else "n/a"


def _num(x: Any, digits: int = 2) -> str:
    return f"{float(x):.{digits}f}" if _isnum(x) else "n/a"


def _int(x: Any) -> str:
    return f"{int(x):,}" if _isnum(x) else "0"


def _ci(lo: Any, hi: Any) -> str:
    return f"[{_pct(lo)}, {_pct(hi)}]" if _isnum(lo) and _isnum(hi) else "[n/a]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _system(rec: Mapping[str, Any], by: Sequence[str]) -> str:
    return ", ".join(str(rec.get(k)) for k in by) or "all"


def _index(records: Sequence[Mapping[str, Any]] | None, by: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    return {_system(r, by): r for r in records or []}


def _market_of(*records: Mapping[str, Any]) -> str:
    """The market key of a row of the report (points when the records carry none)."""
    for r in records:
        if r.get(MARKET_COLUMN):
            return str(r[MARKET_COLUMN])
    return POINTS.key


def _unit(market: str) -> str:
    """What a market's MAE counts, for the verdict sentences (``points``, ``rebounds``, ``PRA``...)."""
    try:
        m = get_market(market)
    except Exception:  # noqa: BLE001 - an unknown key still gets a report
        return "units"
    return m.label.lower() if len(m.columns) == 1 else m.name.upper()


# --------------------------------------------------------------------------------------------------
# verdict


def verdict(bet: Mapping[str, Any] | None) -> tuple[bool, str]:
    """Plain-language verdict on one system's betting record.

    An edge is only "demonstrated" when the hit rate beats the break-even of the prices actually taken
    *and* the lower end of the slate-clustered 95% CI of ROI is above zero.

    Args:
        bet: one record of ``summarize(...)['betting']`` (or None when the system made no bets).

    Returns:
        (edge_demonstrated, sentence).
    """
    be_110 = _pct(BREAK_EVEN_MINUS_110, 2)
    if not bet or not _isnum(bet.get("bets")) or int(bet["bets"]) == 0:
        return False, f"No bets were recommended on valid lines: {NO_EDGE_PHRASE}."
    n = _int(bet["bets"])
    hr: Any = bet.get("hit_rate")
    be: Any = bet.get("break_even")
    roi: Any = bet.get("roi")
    be_txt = f"{_pct(be, 2)} at the prices taken ({be_110} at -110)"
    roi_ci = _ci(bet.get("roi_ci_low"), bet.get("roi_ci_high"))
    if not _isnum(hr) or not _isnum(be) or float(hr) <= float(be) or not _isnum(roi) or float(roi) <= 0:
        return False, (f"The recommended bets do not beat break-even: hit rate {_pct(hr)} over {n} bets "
                       f"(ROI {_pct(roi)}, 95% CI {roi_ci}) against a break-even of {be_txt}; "
                       f"{NO_EDGE_PHRASE}.")
    lo: Any = bet.get("roi_ci_low")
    if not _isnum(lo) or float(lo) <= 0:
        return False, (f"Hit rate {_pct(hr)} over {n} bets is above the break-even of {be_txt}, but the "
                       f"slate-clustered 95% CI of ROI {roi_ci} includes zero: {NO_EDGE_PHRASE} yet.")
    small = " The sample is under 1,000 bets, so treat it as provisional." if int(bet["bets"]) < 1000 else ""
    return True, (f"Hit rate {_pct(hr)} over {n} bets beats the break-even of {be_txt}; ROI {_pct(roi)} with "
                  f"95% CI {roi_ci} above zero.{small} Check the alarms below and confirm on a frozen, "
                  "prospective period before believing it.")


def line_verdict(diff: Any, lo: Any, hi: Any, *, unit: str = "points") -> str:
    """How a forecast's MAE compares with the line's on the same rows, judged by the paired interval.

    "beats the line" only when the whole 95% interval of (forecast MAE - line MAE) is below zero,
    "worse than the line" only when it is above zero; otherwise the two are indistinguishable on
    this sample (a point difference of -0.006 alone proves nothing).

    Args:
        diff: forecast MAE minus line MAE.
        lo: lower bound of its 95% interval.
        hi: upper bound of its 95% interval.
        unit: what the MAE counts (``points``; ``rebounds``, ... for another market).

    Returns:
        A verb phrase with the numbers ("beats the line ...", "is worse than the line ...", "is
        indistinguishable from the line ...").
    """
    if not _isnum(diff):
        return "is not compared with the line (no rows)"
    interval = f"95% interval [{_signed(lo)}, {_signed(hi)}]"
    if _isnum(hi) and float(hi) < 0:
        return f"beats the line by {_num(-float(diff), 3)} {unit} of MAE ({interval})"
    if _isnum(lo) and float(lo) > 0:
        return f"is worse than the line by {_num(diff, 3)} {unit} of MAE ({interval})"
    return f"is indistinguishable from the line (MAE difference {_signed(diff)}, {interval})"


def _signed(x: Any) -> str:
    return f"{float(x):+.3f}" if _isnum(x) else "n/a"


def _diff_ci(rec: Mapping[str, Any], key: str) -> str:
    return f"{_signed(rec.get(key))} [{_signed(rec.get(key + '_ci_low'))}, {_signed(rec.get(key + '_ci_high'))}]"


# --------------------------------------------------------------------------------------------------
# plots


def _save_png(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _write_html(fig: go.Figure, path: Path) -> None:
    fig.write_html(str(path), include_plotlyjs="directory", full_html=True)


def _plot_calibration(summary: Mapping[str, Any], out: Path) -> dict[str, str]:
    pfig = go.Figure()
    mfig = Figure(figsize=(6, 5))
    ax = mfig.add_subplot(1, 1, 1)
    pfig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash", "color": "grey"}))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    market_done = False
    for system, tables in (summary.get("reliability") or {}).items():
        model = tables.get("model") or []
        if model:
            x = [r["mean_predicted"] for r in model]
            y = [r["observed_rate"] for r in model]
            n = [r["count"] for r in model]
            pfig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"{system} p_over",
                                      text=[f"n={c}" for c in n]))
            ax.plot(x, y, marker="o", label=f"{system} p_over")
        market = tables.get("market") or []
        if market and not market_done:  # the market is the same on shared rows; draw it once
            x = [r["mean_predicted"] for r in market]
            y = [r["observed_rate"] for r in market]
            pfig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"market ({system} rows)",
                                      line={"color": "black"}))
            ax.plot(x, y, marker="s", color="black", label=f"market ({system} rows)")
            market_done = True
    pfig.update_layout(title="Calibration of P(over): predicted vs observed", xaxis_title="mean predicted P(over)",
                       yaxis_title="observed over rate", xaxis_range=[0, 1], yaxis_range=[0, 1])
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted P(over)", ylabel="observed over rate",
           title="Calibration of P(over)")
    ax.legend(fontsize=7)
    return _emit(pfig, mfig, out, "calibration")


def _plot_cumulative_profit(graded: pd.DataFrame, by: Sequence[str], out: Path) -> dict[str, str]:
    pfig = go.Figure()
    mfig = Figure(figsize=(8, 4.5))
    ax = mfig.add_subplot(1, 1, 1)
    bets = graded.loc[graded["result"].isin(["WIN", "LOSS", "PUSH"])].copy()
    if not bets.empty:
        bets["_date"] = pd.to_datetime(bets["game_date"]).dt.normalize()
        keys = list(by) or None
        groups = bets.groupby(keys, sort=True) if keys else [((), bets)]
        for key, sub in groups:
            label = ", ".join(str(k) for k in (key if isinstance(key, tuple) else (key,))) or "all"
            daily = sub.groupby("_date")["profit_units"].sum().sort_index().cumsum()
            pfig.add_trace(go.Scatter(x=daily.index, y=daily.to_numpy(), mode="lines", name=label))
            ax.plot(pd.DatetimeIndex(daily.index).to_pydatetime(), daily.to_numpy(), label=label)
    pfig.add_hline(y=0, line_dash="dash", line_color="grey")
    ax.axhline(0, linestyle="--", color="grey")
    pfig.update_layout(title="Cumulative profit (units, 1 unit per bet at posted prices)", xaxis_title="slate date",
                       yaxis_title="units")
    ax.set(xlabel="slate date", ylabel="units", title="Cumulative profit (1 unit per bet)")
    if not bets.empty:
        ax.legend(fontsize=7)
    mfig.autofmt_xdate()
    return _emit(pfig, mfig, out, "cumulative_profit")


def _plot_edge_buckets(summary: Mapping[str, Any], by: Sequence[str], out: Path) -> dict[str, str]:
    records = (summary.get("buckets") or {}).get("edge") or []
    pfig = go.Figure()
    mfig = Figure(figsize=(7, 4.5))
    ax = mfig.add_subplot(1, 1, 1)
    systems = sorted({_system(r, by) for r in records})
    buckets = list(dict.fromkeys(r["bucket"] for r in records))
    width = 0.8 / max(1, len(systems))
    for i, system in enumerate(systems):
        recs = {r["bucket"]: r for r in records if _system(r, by) == system}
        y = [recs[b]["hit_rate"] if b in recs and _isnum(recs[b]["hit_rate"]) else None for b in buckets]
        n = [_int(recs[b]["bets"]) if b in recs else "0" for b in buckets]
        pfig.add_trace(go.Bar(x=buckets, y=y, name=system, text=[f"n={c}" for c in n]))
        xs = np.arange(len(buckets)) + (i - (len(systems) - 1) / 2) * width
        ax.bar(xs, [v if v is not None else 0.0 for v in y], width=width, label=system)
    pfig.add_hline(y=BREAK_EVEN_MINUS_110, line_dash="dash", line_color="red",
                   annotation_text="break-even 52.38% (-110)")
    ax.axhline(BREAK_EVEN_MINUS_110, linestyle="--", color="red", label="break-even 52.38% (-110)")
    pfig.update_layout(title="Hit rate by |edge| bucket (cumulative thresholds)", xaxis_title="|edge| (points)",
                       yaxis_title="hit rate", yaxis_range=[0, 1], barmode="group")
    ax.set_xticks(np.arange(len(buckets)), buckets)
    ax.set(ylim=(0, 1), xlabel="|edge| (points)", ylabel="hit rate", title="Hit rate by |edge| bucket")
    ax.legend(fontsize=7)
    return _emit(pfig, mfig, out, "hit_rate_by_edge")


def _plot_mae(summary: Mapping[str, Any], by: Sequence[str], out: Path) -> dict[str, str]:
    records = summary.get("points") or []
    systems = [_system(r, by) for r in records]
    model = [r.get("mae_line") if _isnum(r.get("mae_line")) else None for r in records]
    model_only = [r.get("mae_line_model_only") if _isnum(r.get("mae_line_model_only")) else None for r in records]
    line = [r.get("line_mae") if _isnum(r.get("line_mae")) else None for r in records]
    n = [_int(r.get("n_line")) for r in records]
    pfig = go.Figure([
        go.Bar(x=systems, y=model_only, name="model-only MAE", text=[f"n={_int(r.get('n_line_model_only'))}"
                                                                    for r in records]),
        go.Bar(x=systems, y=model, name="blended MAE", text=[f"n={c}" for c in n]),
        go.Bar(x=systems, y=line, name="line MAE (same rows)", text=[f"n={c}" for c in n]),
    ])
    pfig.update_layout(title="MAE on rows with a valid line: model vs the line itself", yaxis_title="points",
                       barmode="group")
    mfig = Figure(figsize=(7, 4.5))
    ax = mfig.add_subplot(1, 1, 1)
    xs = np.arange(len(systems))
    ax.bar(xs - 0.27, [v or 0.0 for v in model_only], width=0.27, label="model-only MAE")
    ax.bar(xs, [v or 0.0 for v in model], width=0.27, label="blended MAE")
    ax.bar(xs + 0.27, [v or 0.0 for v in line], width=0.27, label="line MAE (same rows)")
    ax.set_xticks(xs, systems)
    ax.set(ylabel="points", title="MAE on valid-line rows: model vs line")
    ax.legend(fontsize=7)
    return _emit(pfig, mfig, out, "mae_vs_line")


def _emit(pfig: go.Figure, mfig: Figure, out: Path, name: str) -> dict[str, str]:
    html, png = out / f"{name}.html", out / f"{name}.png"
    _write_html(pfig, html)
    _save_png(mfig, png)
    return {"html": str(html), "png": str(png)}


# --------------------------------------------------------------------------------------------------
# markdown


def _bucket_section(title: str, records: Sequence[Mapping[str, Any]] | None, by: Sequence[str]) -> list[str]:
    if not records:
        return []
    rows = [[_system(r, by), str(r.get("bucket")), _int(r.get("bets")), _pct(r.get("hit_rate")),
             _ci(r.get("hit_rate_ci_low"), r.get("hit_rate_ci_high")), _pct(r.get("roi")),
             _ci(r.get("roi_ci_low"), r.get("roi_ci_high")), _pct(r.get("break_even"), 2)] for r in records]
    return [f"### {title}", "", *_table(["system", "bucket", "bets", "hit rate", "95% CI", "ROI", "95% CI",
                                         "break-even"], rows), ""]


def _markdown(summary: Mapping[str, Any], by: Sequence[str], *, title: str, period: str, command: str,
              plots: Mapping[str, Mapping[str, str]], out_dir: Path) -> tuple[str, list[dict[str, Any]], bool]:
    points = _index(summary.get("points"), by)
    prob = _index(summary.get("probability"), by)
    bet = _index(summary.get("betting"), by)
    systems = sorted(set(points) | set(prob) | set(bet))
    counts = summary.get("counts") or {}
    dr = summary.get("date_range") or [None, None]

    md = [f"# {title}", "",
          f"- Period: {period}",
          f"- Command: `{command}`",
          f"- nbaprops {__version__}; {_int(counts.get('predictions'))} predictions, "
          f"{_int(counts.get('valid_line'))} with a valid book line, {_int(counts.get('bets'))} bets, "
          f"{_int(counts.get('void'))} void (did not play); slates {str(dr[0] or 'n/a')[:10]} to "
          f"{str(dr[1] or 'n/a')[:10]}.",
          f"- **Break-even at -110 is {_pct(BREAK_EVEN_MINUS_110, 2)}**; the break-even column uses the prices "
          "actually taken.", "",
          "## Headline", "",
          "Model MAE and the line's MAE are on the same rows (valid line, player played). *Blended* is the "
          "stored forecast (shrunk toward the line by the learned market blend); *model-only* is the same "
          "system from inputs without any line or price. Brier scores of "
          "`p_over` and of the de-vigged market are on the same rows (valid line, played, no push). "
          "Intervals are 95% bootstrap intervals resampling slate dates (paired for MAE differences: the "
          "forecast and the line on the same resampled rows).", ""]
    header = ["system", "n (line rows)", "model-only MAE", "model-only - line [95% CI]", "blended MAE", "line MAE",
              "blended - line [95% CI]", "n (prob rows)", "Brier",
              "market Brier", "Brier @0.5", "bets", "hit rate [95% CI]", "ROI [95% CI]", "ROI at posted price",
              "break-even", "CLV: EV at close [95% CI]", "CLV: fair-prob move [95% CI] (n moved)"]
    cclv = {_system(r, by): r for r in (summary.get("consensus_clv") or []) if r.get("scope") == "predictions"}
    rows: list[list[str]] = []
    headline: list[dict[str, Any]] = []
    verdicts: list[str] = []
    any_edge = False
    for s in systems:
        p, q, b, c = points.get(s, {}), prob.get(s, {}), bet.get(s, {}), cclv.get(s, {})
        market = _market_of(p, q, b, c)
        unit = _unit(market)
        rows.append([s, _int(p.get("n_line")), _num(p.get("mae_line_model_only")),
                     _diff_ci(p, "mae_model_only_minus_line"), _num(p.get("mae_line")), _num(p.get("line_mae")),
                     _diff_ci(p, "mae_minus_line"), _int(q.get("n")), _num(q.get("brier_model"), 4),
                     _num(q.get("brier_market"), 4), _num(q.get("brier_const"), 4), _int(b.get("bets")),
                     f"{_pct(b.get('hit_rate'))} {_ci(b.get('hit_rate_ci_low'), b.get('hit_rate_ci_high'))}",
                     f"{_pct(b.get('roi'))} {_ci(b.get('roi_ci_low'), b.get('roi_ci_high'))}",
                     _pct(b.get("roi_posted")), _pct(b.get("break_even"), 2),
                     f"{_pct(c.get('mean_clv_ev_close'), 2)} {_ci(c.get('clv_ev_close_ci_low'), c.get('clv_ev_close_ci_high'))}",
                     f"{_pct(c.get('mean_clv_fair_prob'), 2)} "
                     f"{_ci(c.get('clv_fair_prob_ci_low'), c.get('clv_fair_prob_ci_high'))} ({_int(c.get('n_moved'))})"])
        edge, sentence = verdict(b)
        any_edge = any_edge or edge
        mae_txt = ""
        if _isnum(p.get("mae_line_model_only")) and _isnum(p.get("line_mae_model_only")):
            mo_says = line_verdict(p.get("mae_model_only_minus_line"), p.get("mae_model_only_minus_line_ci_low"),
                                   p.get("mae_model_only_minus_line_ci_high"), unit=unit)
            mae_txt += (f" On {unit}, the model-only forecast {mo_says}: MAE {_num(p['mae_line_model_only'])} "
                        f"vs {_num(p['line_mae_model_only'])} on the same {_int(p.get('n_line_model_only'))} rows.")
        if _isnum(p.get("mae_line")) and _isnum(p.get("line_mae")):
            says = line_verdict(p.get("mae_minus_line"), p.get("mae_minus_line_ci_low"),
                                p.get("mae_minus_line_ci_high"), unit=unit)
            mae_txt += (f" The blended forecast {says}: MAE {_num(p['mae_line'])} vs "
                        f"{_num(p['line_mae'])} on the same {_int(p.get('n_line'))} rows.")
        brier_txt = ""
        if _isnum(q.get("brier_model")) and _isnum(q.get("brier_market")):
            better = "beats" if float(q["brier_model"]) < float(q["brier_market"]) else "does not beat"
            brier_txt = (f" On probability, `p_over` {better} the de-vigged market: Brier "
                         f"{_num(q['brier_model'], 4)} vs {_num(q['brier_market'], 4)} on {_int(q.get('n'))} rows.")
        verdicts.append(f"- **{s}**: {sentence}{mae_txt}{brier_txt}")
        headline.append({
            "system": s, "market": market, "n_line": p.get("n_line"), "mae_line": p.get("mae_line"), "line_mae": p.get("line_mae"),
            "mae_minus_line": p.get("mae_minus_line"),
            "mae_minus_line_ci": [p.get("mae_minus_line_ci_low"), p.get("mae_minus_line_ci_high")],
            "mae_line_model_only": p.get("mae_line_model_only"), "line_mae_model_only": p.get("line_mae_model_only"),
            "n_line_model_only": p.get("n_line_model_only"),
            "mae_model_only_minus_line": p.get("mae_model_only_minus_line"),
            "mae_model_only_minus_line_ci": [p.get("mae_model_only_minus_line_ci_low"),
                                             p.get("mae_model_only_minus_line_ci_high")],
            "mae_all": p.get("mae_all"), "n_all": p.get("n_all"), "n_prob": q.get("n"),
            "brier_model": q.get("brier_model"), "brier_market": q.get("brier_market"), "bets": b.get("bets"),
            "hit_rate": b.get("hit_rate"), "hit_rate_ci": [b.get("hit_rate_ci_low"), b.get("hit_rate_ci_high")],
            "roi": b.get("roi"), "roi_ci": [b.get("roi_ci_low"), b.get("roi_ci_high")],
            "break_even": b.get("break_even"), "edge_demonstrated": edge, "verdict": sentence,
            "roi_posted": b.get("roi_posted"), "clv_ev_close": c.get("mean_clv_ev_close"),
            "clv_ev_close_ci": [c.get("clv_ev_close_ci_low"), c.get("clv_ev_close_ci_high")],
            "clv_fair_prob": c.get("mean_clv_fair_prob"),
            "clv_fair_prob_ci": [c.get("clv_fair_prob_ci_low"), c.get("clv_fair_prob_ci_high")],
            "clv_n_moved": c.get("n_moved"),
        })
    if MARKET_COLUMN in by:
        per_market = counts.get("by_market") or {}
        md += [f"{len(per_market)} markets are graded: every table is per (market, system); a market's MAE is "
               "in its own stat (rebounds, PRA, ...), its bets are settled on its own line.", ""]
        md += _table(["market", "predictions", "bets", "void"],
                     [[k, _int(v.get("predictions")), _int(v.get("bets")), _int(v.get("void"))]
                      for k, v in per_market.items()]) + [""]
    md += _table(header, rows) + [""]
    md += ["### Verdict", "", *verdicts, ""]
    if not any_edge:
        md += [f"Overall: {NO_EDGE_PHRASE} for any system in this period.", ""]
    if len(systems) > 1:
        md += [f"{len(systems)} systems (and many slices below) are compared on the same period; the more "
               "variants are compared, the likelier one clears a 95% interval by luck alone.", ""]

    md += ["## Alarms", ""]
    alarms = summary.get("alarms") or []
    md += [f"- ⚠ {a}" for a in alarms] if alarms else ["- none fired (prop-player MAE >= 4.5, R^2 <= 0.7, "
                                                      "line MAE >= 4.0, hit rate <= 58% over 1,000+ bets, "
                                                      "no edge bucket >= 75%)."]
    md += [""]

    md += ["## All predictions (each market's stat)" if MARKET_COLUMN in by else "## All predictions (points)", ""]
    md += _table(["system", "n", "MAE", "RMSE", "bias (pred - actual)", "R^2"],
                 [[s, _int(points[s].get("n_all")), _num(points[s].get("mae_all")), _num(points[s].get("rmse_all")),
                   _num(points[s].get("bias_all")), _num(points[s].get("r2_all"), 3)] for s in systems if s in points])
    md += ["", "## Probability scores", ""]
    md += _table(["system", "n", "over rate", "Brier", "market", "log-loss", "market", "ECE", "market ECE",
                  "AUC", "market AUC"],
                 [[s, _int(prob[s].get("n")), _pct(prob[s].get("over_rate")), _num(prob[s].get("brier_model"), 4),
                   _num(prob[s].get("brier_market"), 4), _num(prob[s].get("logloss_model"), 4),
                   _num(prob[s].get("logloss_market"), 4), _num(prob[s].get("ece_model"), 3),
                   _num(prob[s].get("ece_market"), 3), _num(prob[s].get("auc_model"), 3),
                   _num(prob[s].get("auc_market"), 3)] for s in systems if s in prob])
    md += ["", "## Betting slices", ""]
    buckets = summary.get("buckets") or {}
    md += _bucket_section("By |edge| (cumulative thresholds)", buckets.get("edge"), by)
    md += _bucket_section("By side", buckets.get("side"), by)
    md += _bucket_section("By month", buckets.get("month"), by)
    md += _bucket_section("By confidence decile (within system)", buckets.get("confidence_decile"), by)

    clv_records = summary.get("clv")
    md += ["## Closing-line value", ""]
    if clv_records:
        md += _table(["system", "n", "mean CLV (points)", "share beat close", "n (same line)",
                      "mean CLV (prob)", "mean CLV EV"],
                     [[_system(r, by), _int(r.get("n_points")), _num(r.get("mean_clv_points")),
                       _pct(r.get("share_positive_points")), _int(r.get("n_prob")), _pct(r.get("mean_clv_prob"), 2),
                       _pct(r.get("mean_clv_ev"), 2)] for r in clv_records])
    else:
        md += ["No closing lines were supplied, so CLV is not measured."]
    cons = summary.get("consensus_clv")
    if cons:
        md += ["", "### Against the books' consensus (docs/market.md)", "",
               "Side: the recommendation, else the side of P(over). EV at close: closing consensus fair "
               "P(side) x decimal price taken (the best book's) - 1, on every row. Line and fair-probability "
               "moves: on the rows whose close is a later snapshot than the market the prediction saw "
               "(n moved). Intervals: 95% bootstrap resampling slate dates.", ""]
        md += _table(["system", "scope", "n", "EV at close [95% CI]", "n moved", "line move [95% CI]",
                      "fair-prob move [95% CI]", "share prob move > 0"],
                     [[_system(r, by), str(r.get("scope")), _int(r.get("n")),
                       f"{_pct(r.get('mean_clv_ev_close'), 2)} {_ci(r.get('clv_ev_close_ci_low'), r.get('clv_ev_close_ci_high'))}",
                       _int(r.get("n_moved")),
                       f"{_num(r.get('mean_clv_line_move'), 3)} [{_num(r.get('clv_line_move_ci_low'), 3)}, "
                       f"{_num(r.get('clv_line_move_ci_high'), 3)}]",
                       f"{_pct(r.get('mean_clv_fair_prob'), 2)} {_ci(r.get('clv_fair_prob_ci_low'), r.get('clv_fair_prob_ci_high'))}",
                       _pct(r.get("share_positive_fair_prob"))] for r in cons])
    md += ["", "## Plots", ""]
    for name, paths in plots.items():
        html, png = Path(paths["html"]).relative_to(out_dir), Path(paths["png"]).relative_to(out_dir)
        md += [f"- {name}: [interactive]({html.as_posix()}) · ![{name}]({png.as_posix()})"]
    md += ["", "## Definitions", ""]
    md += [f"- **{k}**: {v}" for k, v in (summary.get("definitions") or {}).items()]
    return "\n".join(md) + "\n", headline, any_edge


# --------------------------------------------------------------------------------------------------
# entry point


def write_report(graded: pd.DataFrame, out_dir: Path, *, title: str, period: str, command: str,
                 by: Sequence[str] = DEFAULT_BY, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Write ``report.md``, ``metrics.json`` and four plots (HTML + PNG) for a graded period.

    Args:
        graded: output of ``grade_predictions`` (add ``closing_line`` and closing prices for CLV).
        out_dir: directory to write into (created if needed); plots go to ``out_dir/plots``.
        title: report title.
        period: human-readable period, e.g. ``"2024-03-01 to 2024-05-31 (walk-forward)"``.
        command: the command that reproduces the report (printed in the report).
        by: grouping columns (normally the system); with several markets in ``graded`` every table is
            per (market, system) (:func:`~nbaprops.evaluate.metrics.market_by`).
        n_boot: bootstrap replicates for the confidence intervals.
        seed: RNG seed for the bootstrap.

    Returns:
        ``report_md``, ``metrics_json``, ``plots`` ({name: {html, png}}) as path strings, ``headline``
        (per system: MAE vs line MAE, Brier vs market, bets, hit rate, ROI with CIs, break-even, verdict),
        ``alarms`` and ``edge_demonstrated`` (True only if some system beats break-even with ROI CI > 0).
    """
    out_dir = Path(out_dir)
    plot_dir = out_dir / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    by = list(market_by(graded, by))  # several markets: per (market, system)
    summary = summarize(graded, by=by, n_boot=n_boot, seed=seed)
    summary["meta"] = {"title": title, "period": period, "command": command, "nbaprops_version": __version__}

    plots = {
        "calibration": _plot_calibration(summary, plot_dir),
        "cumulative_profit": _plot_cumulative_profit(graded, by, plot_dir),
        "hit_rate_by_edge": _plot_edge_buckets(summary, by, plot_dir),
        "mae_vs_line": _plot_mae(summary, by, plot_dir),
    }
    text, headline, any_edge = _markdown(summary, by, title=title, period=period, command=command, plots=plots,
                                         out_dir=out_dir)
    report_md = out_dir / "report.md"
    report_md.write_text(text, encoding="utf-8")
    metrics_json = out_dir / "metrics.json"
    metrics_json.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return {
        "report_md": str(report_md),
        "metrics_json": str(metrics_json),
        "plots": plots,
        "headline": headline,
        "alarms": list(summary.get("alarms") or []),
        "edge_demonstrated": any_edge,
    }
