"""The dashboard end to end in a real headless Chromium, on a warehouse built from ../shared/data.

The session backfill is copied (``warehouse_copy``), models are trained on the 2023-24 season up to
2024-04-10, the slates of 2024-04-10 and 2024-04-11 are predicted by the real coordinator (with one
2024-04-11 line made an in-game quote, so the gate quarantines it) and graded. The app is served by
uvicorn on 127.0.0.1 (a free port, in a thread) and driven by Playwright's sync API with the Debian
Chromium (``/usr/bin/chromium``; Playwright's own browser download is not used).

Each page is opened, filtered through its form, and the numbers shown are compared with the
warehouse's. Screenshots go to a tmp dir, and are copied to ``$NBAPROPS_SCREENSHOT_DIR`` when it is
set (``1`` means ``reports/screenshots`` under the repo; a relative path is taken from the repo root).
Locally the module is skipped when Chromium or the playwright package is missing; under CI (``CI``
set) that is a failure instead, because CI installs both.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI

from nbaprops.api import create_app
from nbaprops.api.dashboard import fmt_num, fmt_pct, fmt_signed
from nbaprops.config import Settings
from nbaprops.evaluate.grade import grade_dates
from nbaprops.models.training import SYSTEM_IDS, train_models
from nbaprops.predict.coordinator import start_batch
from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module", autouse=True)
def _open_thresholds(opened_thresholds: None) -> None:
    """Bets must exist for the invariants below to mean anything (see conftest.open_thresholds)."""


ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("NBAPROPS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
D1, D2 = dt.date(2024, 4, 10), dt.date(2024, 4, 11)
TIMEOUT_MS = 30_000


def _require_browser() -> None:
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if missing:
        reason = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must install them (.ci/run)")
        pytest.skip(reason)


@dataclass
class Served:
    """The running dashboard: its base URL, the app (for a cursor on its connection), the quarantined player."""

    base_url: str
    app: FastAPI
    quarantined_player: int

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Read the warehouse through the server's own connection (DuckDB admits one configuration per file)."""
        cur = self.app.state.nbaprops.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()


def _build(db: Path) -> tuple[Settings, int]:
    """Train, predict two slates (one line made an in-game quote) and grade them; returns the quarantined player."""
    settings = Settings(db=db, model_dir=db.parent / "models")
    con = connect(db)
    try:
        manifest = train_models(con, settings.model_path, D1, since=dt.date(2023, 10, 24))
        row = con.execute("""
            SELECT c.player_id FROM upcoming_player_game_context c
            JOIN feature_store f ON f.game_date = c.game_date AND f.player_id = c.player_id AND f.is_expected
            WHERE c.game_date = ? AND c.current_points_line IS NOT NULL AND c.tipoff_at IS NOT NULL
            ORDER BY c.current_points_line DESC, c.player_id LIMIT 1""", [D2]).fetchone()
        assert row is not None, "no quoted player on 2024-04-11"
        quarantined = int(row[0])
        # a quote stamped after tip-off: the validation gate must quarantine it and predict NO_LINE
        con.execute("""UPDATE upcoming_player_game_context SET line_quoted_at = tipoff_at + INTERVAL 5 MINUTE
                       WHERE game_date = ? AND player_id = ?""", [D2, quarantined])
        for day in (D1, D2):
            result = start_batch(con, settings, day, model_dir=settings.model_path, model_set=manifest["model_set"])
            assert result.status == "complete", result
        assert grade_dates(con, D1, D2) > 0
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return settings, quarantined


@pytest.fixture(scope="module")
def served(warehouse_copy: Path) -> Iterator[Served]:
    _require_browser()
    import uvicorn

    settings, quarantined = _build(warehouse_copy)
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="dashboard-uvicorn")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", app, quarantined)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Screenshots land here; copied to $NBAPROPS_SCREENSHOT_DIR at the end when it is set."""
    out = tmp_path_factory.mktemp("screenshots")
    yield out
    target = os.environ.get("NBAPROPS_SCREENSHOT_DIR")
    if target:
        dest = ROOT / "reports" / "screenshots" if target.lower() in ("1", "true", "yes") else Path(target)
        dest = dest if dest.is_absolute() else ROOT / dest
        dest.mkdir(parents=True, exist_ok=True)
        for png in sorted(out.glob("*.png")):
            shutil.copy2(png, dest / png.name)


@dataclass
class Tab:
    """A browser page with every request URL and every console or page error it produced."""

    page: Any
    requests: list[str]
    errors: list[str]


@pytest.fixture
def tab(browser: Any, served: Served) -> Iterator[Tab]:
    """A fresh page; afterwards, checks that it contacted only this server and logged no error."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    t = Tab(pg, [], [])
    pg.on("request", lambda r: t.requests.append(r.url))
    pg.on("pageerror", lambda e: t.errors.append(str(e)))
    pg.on("console", lambda m: t.errors.append(m.text) if m.type == "error" else None)
    try:
        yield t
    finally:
        context.close()
    # nothing but this server was contacted (plotly.js included: no CDN), and no script failed
    assert [u for u in t.requests if not u.startswith(served.base_url) and not u.startswith("data:")] == []
    assert t.errors == []


def _cells(pg: Any, selector: str) -> list[dict[str, Any]]:
    """Rows of a table as dicts: the ``tr`` data attributes and each ``td.c-NAME`` as (text, data-value)."""
    rows: list[dict[str, Any]] = pg.eval_on_selector_all(selector, """rows => rows.map(tr => {
        const rec = {attrs: Object.assign({}, tr.dataset)};
        for (const td of tr.querySelectorAll('td')) {
            for (const c of td.classList) {
                if (c.startsWith('c-')) rec[c.slice(2)] = [td.innerText.trim(), td.dataset.value ?? null];
            }
        }
        return rec;
    })""")
    return rows


def _slate_rows(served: Served, day: dt.date, system: str | None, recommendation: str | None = None,
                market: str | None = "player_points") -> pd.DataFrame:
    where, params = ["p.game_date = ?"], [day]
    if market:  # the slate shows points unless another market is chosen
        where.append("p.market = ?")
        params.append(market)
    if system:
        where.append("p.system_id = ?")
        params.append(system)
    if recommendation:
        where.append("p.recommendation = ?")
        params.append(recommendation)
    return served.query(f"""
        SELECT p.player_id, p.system_id, pl.full_name, CAST(p.line AS DOUBLE) AS line, p.sportsbook,
               p.predicted_points, p.p_over, p.edge, p.recommendation, p.model_version
        FROM player_prop_predictions p LEFT JOIN players pl USING (player_id)
        WHERE {' AND '.join(where)}""", params)


def _check_rows(shown: list[dict[str, Any]], expected: pd.DataFrame) -> None:
    assert len(shown) == len(expected) > 0
    by_key = {(int(r["attrs"]["playerId"]), r["attrs"]["system"]): r for r in shown}
    assert len(by_key) == len(shown)
    for e in expected.itertuples():
        row = by_key[(int(e.player_id), e.system_id)]
        assert row["player"][0] == e.full_name
        assert row["line"][0] == fmt_num(e.line)
        assert row["book"][0] == (e.sportsbook if isinstance(e.sportsbook, str) else "\u2014")
        assert row["pred"][0] == fmt_num(e.predicted_points)
        assert row["pover"][0] == fmt_pct(e.p_over)
        assert row["edge"][0] == fmt_signed(e.edge)
        assert row["rec"][0] == e.recommendation
        assert row["model"][0] == e.model_version
        if pd.notna(e.p_over):
            assert float(row["pover"][1]) == pytest.approx(float(e.p_over), abs=1e-12)


# ------------------------------------------------------------------------------------------ tests
def test_slate_page_shows_the_warehouse_and_filters(tab: Tab, served: Served, shots: Path) -> None:
    page = tab.page
    page.goto(f"{served.base_url}/slate?date={D1}")
    assert page.inner_text("#slate-date") == str(D1)
    _check_rows(_cells(page, "#slate-table tbody tr"), _slate_rows(served, D1, "catboost"))
    teams = page.eval_on_selector_all("#slate-table td.c-team", "tds => tds.map(td => td.innerText)")
    assert all(len(t) == 3 for t in teams)  # every player has a team from the slate context
    page.screenshot(path=str(shots / "slate.png"), full_page=True)

    # filter through the form: all systems, OVER only
    page.select_option("#slate-filters select[name=system]", "all")
    page.select_option("#slate-filters select[name=recommendation]", "OVER")
    with page.expect_navigation():
        page.click("#slate-filters button[type=submit]")
    assert "system=all" in page.url and "recommendation=OVER" in page.url
    shown = _cells(page, "#slate-table tbody tr")
    expected = _slate_rows(served, D1, None, "OVER")
    _check_rows(shown, expected)
    assert {r["rec"][0] for r in shown} == {"OVER"}
    assert page.inner_text("#row-count") == str(len(expected))

    # sort by P(over) with a click on the column header (a plain link)
    with page.expect_navigation():
        page.click("#slate-table th[data-sort-key=p_over] a")
    values = [float(r["pover"][1]) for r in _cells(page, "#slate-table tbody tr")]
    assert values == sorted(values, reverse=True)
    page.screenshot(path=str(shots / "slate_filtered.png"), full_page=True)


def test_slate_shows_quarantined_line_and_skips(tab: Tab, served: Served, shots: Path) -> None:
    page = tab.page
    page.goto(f"{served.base_url}/slate?date={D2}&system=all&sort=player&order=asc")
    q = served.query("SELECT player_id, line, sportsbook, reason FROM line_quarantine WHERE game_date = ?", [D2])
    assert q["player_id"].tolist() == [served.quarantined_player] and q["reason"].tolist() == ["quoted_after_tipoff"]
    quarantine = _cells(page, "#quarantine-table tbody tr")
    assert [(int(r["attrs"]["playerId"]), r["reason"][0]) for r in quarantine] == [
        (served.quarantined_player, "quoted_after_tipoff")]
    rows = [r for r in _cells(page, "#slate-table tbody tr") if int(r["attrs"]["playerId"]) == served.quarantined_player]
    assert len(rows) == 7 and {r["rec"][0] for r in rows} == {"NO_LINE"}     # one per system
    assert all(r["reason"][0].endswith("quarantined: quoted_after_tipoff") for r in rows)
    expected_skips = served.query("""SELECT count(*) AS n FROM prediction_skips s WHERE s.batch_id =
                                     (SELECT any_value(batch_id) FROM player_prop_predictions WHERE game_date = ?)""",
                                  [D2])
    assert int(page.inner_text("#skip-count")) == int(expected_skips["n"][0])
    # viewport screenshots: the player's NO_LINE rows with the reason, then the quarantine table
    page.locator(f"#slate-table tr[data-player-id='{served.quarantined_player}']").first.evaluate(
        "el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(shots / "slate_no_line_reason.png"))
    page.locator("#quarantine-count").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(shots / "slate_quarantine.png"))


def test_slate_filters_work_with_javascript_disabled(browser: Any, served: Served) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(f"{served.base_url}/slate?date={D1}")
        pg.select_option("#slate-filters select[name=system]", "ensemble")
        pg.select_option("#slate-filters select[name=recommendation]", "UNDER")
        with pg.expect_navigation():
            pg.click("#slate-filters button[type=submit]")
        shown = _cells(pg, "#slate-table tbody tr") if pg.locator("#slate-table").count() else []
        expected = _slate_rows(served, D1, "ensemble", "UNDER")
        assert len(shown) == len(expected)
        assert {(r["attrs"]["system"], r["rec"][0]) for r in shown} <= {("ensemble", "UNDER")}
        pg.goto(f"{served.base_url}/performance")
        assert pg.locator("#perf-by-system tbody tr").count() == 7  # seven systems; the tables need no JavaScript
    finally:
        context.close()


def _expected_by_system(served: Served) -> dict[str, dict[str, Any]]:
    g = served.query("""SELECT g.*, p.line_source FROM prediction_grades g
                        JOIN player_prop_predictions p USING (game_id, player_id, system_id, line_key)
                        WHERE g.market = 'player_points'""")  # the page's default market
    out: dict[str, dict[str, Any]] = {}
    for system, s in g.groupby("system_id"):
        bets = s[s["is_bet"] & s["has_valid_line"] & (s["line_source"] == "ACTUAL_PROP")]
        settled = bets[bets["result"].isin(["WIN", "LOSS", "PUSH"])]
        wins, losses = int((settled["result"] == "WIN").sum()), int((settled["result"] == "LOSS").sum())
        same = s[s["has_valid_line"] & ~s["is_void"] & s["abs_error"].notna() & s["line_abs_error"].notna()]
        out[str(system)] = {
            "bets": len(settled), "hit": wins / (wins + losses) if wins + losses else None,
            "roi": settled["profit_units"].sum() / len(settled) if len(settled) else None,
            "mae": same["abs_error"].mean(), "line_mae": same["line_abs_error"].mean()}
    return out


def test_performance_page_charts_and_numbers(tab: Tab, served: Served, shots: Path) -> None:
    page = tab.page
    page.goto(f"{served.base_url}/performance")
    for chart in ("chart-hit-rate", "chart-roi", "chart-calibration", "chart-mae"):
        page.wait_for_selector(f"#{chart} .main-svg")  # drawn by the served plotly.js
    assert f"{served.base_url}/static/plotly.min.js" in tab.requests
    assert page.inner_text("#break-even") == "52.38%"
    assert page.locator("#chart-hit-rate").inner_text().count("break-even 52.38%") == 1
    expected = _expected_by_system(served)
    shown = {r["attrs"]["system"]: r for r in _cells(page, "#perf-by-system tbody tr")}
    assert set(shown) == set(expected) == set(SYSTEM_IDS)
    for system, e in expected.items():
        row = shown[system]
        assert row["bets"][0] == str(e["bets"])
        assert row["hit"][0] == fmt_pct(e["hit"])
        assert row["roi"][0] == fmt_pct(e["roi"])
        assert row["mae"][0] == fmt_num(e["mae"], 2) and row["line-mae"][0] == fmt_num(e["line_mae"], 2)
    dates = {(r["attrs"]["date"], r["attrs"]["system"]) for r in _cells(page, "#perf-by-date tbody tr")}
    assert {d for d, _ in dates} == {str(D1), str(D2)} and len(dates) == 2 * len(SYSTEM_IDS)
    assert page.locator("#perf-calibration tbody tr").count() > 0
    page.screenshot(path=str(shots / "performance.png"), full_page=True)

    page.select_option("#performance-filters select[name=system]", "catboost")
    with page.expect_navigation():
        page.click("#performance-filters button[type=submit]")
    rows = _cells(page, "#perf-by-system tbody tr")
    assert [r["attrs"]["system"] for r in rows] == ["catboost"]
    assert rows[0]["hit"][0] == fmt_pct(expected["catboost"]["hit"])


def test_pipeline_page(tab: Tab, served: Served, shots: Path) -> None:
    page = tab.page
    page.goto(f"{served.base_url}/pipeline")
    batches = served.query("SELECT batch_id, status, expected_players FROM prediction_batches")
    shown = {r["attrs"]["batchId"]: r for r in _cells(page, "#batches-table tbody tr")}
    assert set(shown) == set(batches["batch_id"])
    for b in batches.itertuples():
        assert shown[b.batch_id]["attrs"]["status"] == b.status == "complete"
        assert shown[b.batch_id]["expected"][0] == f"{int(b.expected_players):,}"
    runs = served.query("SELECT phase, count(*) AS n, sum(n_rows) AS rows FROM phase_runs GROUP BY phase")
    phases = {r["attrs"]["phase"]: r for r in _cells(page, "#phase-summary tbody tr")}
    assert set(phases) == set(runs["phase"])
    for r in runs.itertuples():
        assert phases[r.phase]["runs"][0] == str(r.n) and phases[r.phase]["rows"][0] == f"{int(r.rows):,}"
    alerts = _cells(page, "#alerts-table tbody tr")
    assert ("lines_quarantined", str(D2)) in {(a["attrs"]["kind"], a["attrs"]["date"]) for a in alerts}
    page.screenshot(path=str(shots / "pipeline.png"), full_page=True)

    page.fill("#pipeline-filters input[name=date]", str(D2))
    with page.expect_navigation():
        page.click("#pipeline-filters button[type=submit]")
    assert [r["attrs"]["batchId"] for r in _cells(page, "#batches-table tbody tr")] == batches.loc[
        batches["batch_id"].str.startswith("b-20240411"), "batch_id"].tolist()


# ------------------------------------------------------------------------------------------ player page and board
_PRE_TIP = "((quote_basis = 'quoted_at' AND minutes_before_tipoff >= 0) OR quote_basis = 'closing')"


def _side_counts(values: list[float], line: float) -> tuple[int, int, int]:
    return sum(v > line for v in values), sum(v < line for v in values), sum(v == line for v in values)


def test_player_page_shows_the_warehouse(tab: Tab, served: Served, shots: Path) -> None:
    page = tab.page
    pick = served.query("""
        SELECT p.player_id, pl.full_name, CAST(p.line AS DOUBLE) AS line FROM player_prop_predictions p
        JOIN players pl USING (player_id)
        WHERE p.game_date = ? AND p.system_id = 'catboost' AND p.line IS NOT NULL AND NOT p.is_fallback
        ORDER BY p.line DESC, p.player_id LIMIT 1""", [D1]).iloc[0]
    pid, line = int(pick.player_id), float(pick.line)
    # reached from its slate row
    page.goto(f"{served.base_url}/slate?date={D1}")
    with page.expect_navigation():
        page.click(f"#slate-table tr[data-player-id='{pid}'][data-system='catboost'] td.c-player a")
    assert page.url.endswith(f"/player/{pid}?date={D1}")
    assert page.inner_text("#player-name") == pick.full_name
    assert float(page.get_attribute("#tonight-line", "data-value") or "nan") == line
    for chart in ("chart-games", "chart-minutes", "chart-distribution"):
        page.wait_for_selector(f"#{chart} .main-svg")     # drawn by the served plotly.js

    # the last 20 games before the date, newest first: points and minutes
    games = served.query("""SELECT game_date, pts, minutes FROM player_boxscores WHERE player_id = ? AND game_date < ?
                            ORDER BY game_date DESC, game_id DESC LIMIT 20""", [pid, D1])
    shown = _cells(page, "#games-table tbody tr")
    assert [r["attrs"]["date"] for r in shown] == [str(d.date()) for d in pd.to_datetime(games["game_date"])]
    assert [float(r["value"][1]) for r in shown] == [float(v) for v in games["pts"]]
    assert [r["min"][0] for r in shown] == [fmt_num(m) for m in games["minutes"]]
    assert [r["side"][0] for r in shown] == ["OVER" if v > line else "UNDER" if v < line else "PUSH"
                                             for v in games["pts"]]
    rates = {r["attrs"]["window"]: r for r in _cells(page, "#hit-rates tbody tr")}
    for n in (5, 10, 20):
        over, under, push = _side_counts([float(v) for v in games["pts"][:n]], line)
        row = rates[f"last_{n}"]
        assert (row["over"][0], row["under"][0], row["push"][0]) == (str(over), str(under), str(push))
        assert row["hit"][0] == fmt_pct(over / (over + under) if over + under else None)

    # every book's latest pre-tip quote of the points line
    books = served.query(f"""
        SELECT sportsbook, line, over_price, under_price FROM (
            SELECT *, row_number() OVER (PARTITION BY source, sportsbook ORDER BY quoted_at DESC NULLS LAST,
                                                                                  snapshot_id DESC) AS rn
            FROM prop_line_snapshots
            WHERE game_date = ? AND player_id = ? AND market = 'player_points' AND {_PRE_TIP}) AS q
        WHERE rn = 1 ORDER BY sportsbook""", [D1, pid])
    shown_books = _cells(page, "#books-table tbody tr")
    assert [r["book"][0] for r in shown_books] == books["sportsbook"].tolist() and len(books) > 0
    assert [float(r["line"][1]) for r in shown_books] == books["line"].tolist()
    assert [int(float(r["over"][1])) for r in shown_books] == books["over_price"].astype(int).tolist()

    # the model: every system's stored row, and the distribution's blended P(over) is the stored one
    preds = served.query("""SELECT system_id, p_over, predicted_points FROM player_prop_predictions
                            WHERE game_date = ? AND player_id = ? ORDER BY system_id""", [D1, pid])
    model = {r["attrs"]["system"]: r for r in _cells(page, "#model-table tbody tr")}
    assert set(model) == set(preds["system_id"])
    for e in preds.itertuples():
        assert float(model[e.system_id]["pover"][1]) == pytest.approx(float(e.p_over), abs=1e-12)
        assert model[e.system_id]["pred"][0] == fmt_num(e.predicted_points)
    dist = {r["attrs"]["key"]: r for r in _cells(page, "#distribution-table tbody tr")}
    catboost = preds.set_index("system_id").loc["catboost"]
    assert float(dist["p_over"]["blended"][1]) == pytest.approx(float(catboost.p_over), abs=1e-12)
    assert float(dist["mean"]["blended"][1]) == pytest.approx(float(catboost.predicted_points), abs=1e-9)
    assert 0.0 < float(dist["p_over"]["model"][1]) < 1.0
    assert "P(over) model" in page.inner_text("#chart-distribution")
    page.screenshot(path=str(shots / "player.png"), full_page=True)

    # another market from the market links: no model, the books' line
    with page.expect_navigation():
        page.click("#player-markets a[data-market='player_rebounds']")
    assert "market=player_rebounds" in page.url
    note = page.inner_text("#distribution-note")  # rebounds: no prediction yet, or one (drawn for points only)
    assert "prediction of this market" in note or "drawn for points only" in note


def _board_cards(pg: Any) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = pg.eval_on_selector_all("#board article.pcard", """cards => cards.map(c => {
        const pts = c.querySelector("p.model[data-market=player_points] .c-pover");
        const rows = {};
        for (const tr of c.querySelectorAll("tbody tr")) {
            rows[tr.dataset.market] = {line: tr.querySelector(".c-line").dataset.value,
                                       books: tr.querySelector(".c-books").innerText.trim(),
                                       over: tr.querySelector(".c-best-over").dataset.value,
                                       streak: tr.querySelector(".c-streak").dataset.games};
        }
        return {player: Number(c.dataset.playerId), team: c.dataset.team, game: c.dataset.gameId,
                pover: pts ? pts.dataset.value : null, markets: rows};
    })""")
    return cards


def test_board_shows_the_warehouse_and_filters(tab: Tab, served: Served, shots: Path) -> None:
    page = tab.page
    page.goto(f"{served.base_url}/board?date={D1}")
    assert page.inner_text("#board-date") == str(D1)
    quoted = served.query(f"""SELECT DISTINCT player_id FROM prop_line_snapshots
                              WHERE game_date = ? AND player_id IS NOT NULL AND {_PRE_TIP}""", [D1])
    cards = _board_cards(page)
    assert sorted(c["player"] for c in cards) == sorted(int(p) for p in quoted["player_id"]) and cards
    preds = served.query("""SELECT player_id, CAST(line AS DOUBLE) AS line, p_over FROM player_prop_predictions
                            WHERE game_date = ? AND system_id = 'catboost' AND line IS NOT NULL
                              AND market = 'player_points'""", [D1])
    by_player = {int(r.player_id): r for r in preds.itertuples()}
    checked = 0
    for c in cards:
        e = by_player.get(c["player"])
        if e is None:
            continue
        assert float(c["markets"]["player_points"]["line"]) == e.line
        assert float(c["pover"]) == pytest.approx(float(e.p_over), abs=1e-12)
        checked += 1
    assert checked == len(by_player) > 0
    # every market a card lists was quoted before tip-off, with that many books
    quotes = served.query(f"""SELECT player_id, market, count(DISTINCT sportsbook) AS books FROM prop_line_snapshots
                              WHERE game_date = ? AND player_id IS NOT NULL AND {_PRE_TIP} GROUP BY ALL""", [D1])
    expected_books = {(int(r.player_id), r.market): int(r.books) for r in quotes.itertuples()}
    assert {(c["player"], m): int(v["books"]) for c in cards for m, v in c["markets"].items()} == expected_books
    page.screenshot(path=str(shots / "board.png"), full_page=True)

    # filter through the form: one team, sorted by P(over)
    team = sorted({c["team"] for c in cards if c["team"]})[0]
    page.select_option("#board-filters select[name=team]", team)
    page.select_option("#board-filters select[name=sort]", "p_over")
    with page.expect_navigation():
        page.click("#board-filters button[type=submit]")
    filtered = _board_cards(page)
    assert filtered and {c["team"] for c in filtered} == {team}
    assert len(filtered) == sum(c["team"] == team for c in cards)
    values = [float(c["pover"]) for c in filtered if c["pover"]]
    assert values == sorted(values, reverse=True)
    page.screenshot(path=str(shots / "board_filtered.png"), full_page=True)


def test_exports_of_a_predicted_date_validate_and_match(served: Served, tmp_path: Path) -> None:
    """The export documents of a predicted shared date, written by Project.export and served by the API."""
    import json
    import urllib.request

    jsonschema = pytest.importorskip("jsonschema")
    from nbaprops.queries.exports import DOCUMENTS

    schemas = ROOT / "docs" / "exports"
    res = served.app.state.nbaprops.project.export(D1, tmp_path / "exports")
    preds = served.query("SELECT system_id, recommendation FROM player_prop_predictions WHERE game_date = ?", [D1])
    bets = preds[(preds["system_id"] == "catboost") & preds["recommendation"].isin(["OVER", "UNDER"])]
    assert res.rows["predictions"] == len(preds) > 0 and res.rows["best_bets"] == len(bets)
    for name in DOCUMENTS:
        schema = json.loads((schemas / f"{name}.schema.json").read_text(encoding="utf-8"))
        written = json.loads(res.files[name].read_text(encoding="utf-8"))
        with urllib.request.urlopen(f"{served.base_url}/exports/{D1}/{name}.json", timeout=60) as r:
            served_doc = json.loads(r.read())
        for doc in (written, served_doc):
            jsonschema.validate(doc, schema)
        assert served_doc["rows"] == written["rows"]
        assert written["model_set"] and set(written["model_versions"]) == set(preds["system_id"])


# ------------------------------------------------------------------------------------------ markets
def _add_rebounds_rows(served: Served) -> int:
    """Copy the catboost points predictions of D1 as player_rebounds rows on the same book's real
    rebounds line (players whose book quoted no rebounds are left out); returns the rows added."""
    cur = served.app.state.nbaprops.cursor()
    try:
        cur.execute("""
            INSERT INTO player_prop_predictions BY NAME
            WITH reb AS (
                SELECT player_id, sportsbook, arg_max(line, quoted_at) AS line, arg_max(over_price, quoted_at) AS op,
                       arg_max(under_price, quoted_at) AS up
                FROM prop_line_snapshots
                WHERE game_date = ? AND market = 'player_rebounds' AND quote_basis = 'quoted_at'
                  AND minutes_before_tipoff >= 0
                GROUP BY ALL)
            SELECT p.* REPLACE ('player_rebounds' AS market, r.line AS line,
                                'player_rebounds|' || printf('%.1f', r.line) AS line_key,
                                r.line + 0.25 * p.edge AS predicted_points, 0.25 * p.edge AS edge,
                                r.op AS over_price, r.up AS under_price)
            FROM player_prop_predictions p JOIN reb r USING (player_id, sportsbook)
            WHERE p.game_date = ? AND p.system_id = 'catboost' AND p.market = 'player_points'
              AND p.line IS NOT NULL""", [D1, D1])
        n = int(cur.execute("SELECT count(*) FROM player_prop_predictions WHERE market = 'player_rebounds'")
                .fetchone()[0])  # type: ignore[index]
        grade_dates(cur, D1, D1)
    finally:
        cur.close()
    return n


def test_slate_and_performance_market_selector(tab: Tab, served: Served, shots: Path) -> None:
    n = _add_rebounds_rows(served)
    assert n > 20
    try:
        page = tab.page
        page.goto(f"{served.base_url}/slate?date={D1}&system=catboost")
        assert page.eval_on_selector("#market-select", "s => s.value") == "player_points"  # the default
        shown = _cells(page, "#slate-table tbody tr")
        assert {r["attrs"]["market"] for r in shown} == {"player_points"}
        _check_rows(shown, _slate_rows(served, D1, "catboost"))

        page.select_option("#market-select", "player_rebounds")
        with page.expect_navigation():
            page.click("#slate-filters button[type=submit]")
        assert "market=player_rebounds" in page.url
        shown = _cells(page, "#slate-table tbody tr")
        assert {r["attrs"]["market"] for r in shown} == {"player_rebounds"}
        _check_rows(shown, _slate_rows(served, D1, "catboost", market="player_rebounds"))
        assert len(shown) == n
        assert max(float(r["line"][1]) for r in shown) < 20  # rebounds lines, not points lines
        page.screenshot(path=str(shots / "slate_rebounds.png"), full_page=True)

        page.select_option("#market-select", "all")
        with page.expect_navigation():
            page.click("#slate-filters button[type=submit]")
        shown = _cells(page, "#slate-table tbody tr")
        assert len(shown) == len(_slate_rows(served, D1, "catboost", market=None))
        assert {r["attrs"]["market"] for r in shown} == {"player_points", "player_rebounds"}

        page.goto(f"{served.base_url}/performance")
        assert page.eval_on_selector("#market-select", "s => s.value") == "player_points"
        by_market = {(r["attrs"]["market"], r["attrs"]["system"]) for r in _cells(page, "#perf-by-market tbody tr")}
        assert ("player_rebounds", "catboost") in by_market and ("player_points", "catboost") in by_market
        page.select_option("#market-select", "player_rebounds")
        with page.expect_navigation():
            page.click("#performance-filters button[type=submit]")
        rows = {r["attrs"]["system"]: r for r in _cells(page, "#perf-by-system tbody tr")}
        assert set(rows) == {"catboost"}
        g = served.query("""SELECT result, is_bet, has_valid_line FROM prediction_grades
                            WHERE market = 'player_rebounds' AND system_id = 'catboost'""")
        settled = g[g["is_bet"] & g["has_valid_line"] & g["result"].isin(["WIN", "LOSS", "PUSH"])]
        assert rows["catboost"]["bets"][0] == str(len(settled))
        page.screenshot(path=str(shots / "performance_rebounds.png"), full_page=True)
    finally:
        cur = served.app.state.nbaprops.cursor()
        try:
            cur.execute("DELETE FROM player_prop_predictions WHERE market = 'player_rebounds'")
            grade_dates(cur, D1, D1)
        finally:
            cur.close()

def _decimal(american: float) -> float:
    return 1 + (american / 100 if american > 0 else 100 / -american)


def test_slate_shows_every_book_and_highlights_the_best_price(tab: Tab, served: Served, shots: Path) -> None:
    """On the real 2024-04-10 slate (Odds API, ~8 books per player): each player's market lists exactly the
    books quoting him in the warehouse (their newest pre-tip quote), and the highlighted over / under price
    is the highest decimal price among the books not rejected that quote the prediction's line."""
    pg = tab.page
    pg.goto(f"{served.base_url}/slate?date={D1}&system=catboost")
    markets = pg.locator("details.market")
    assert markets.count() > 20
    newest = served.query("""SELECT player_id, sportsbook, arg_max(line, quoted_at) AS line,
                                    arg_max(over_price, quoted_at) AS over_price
                             FROM line_quotes WHERE game_date = ? GROUP BY ALL""", [D1])
    lines = served.query("""SELECT player_id, CAST(line AS DOUBLE) AS line FROM player_prop_predictions
                            WHERE game_date = ? AND system_id = 'catboost' AND line IS NOT NULL
                              AND market = 'player_points'""", [D1])
    line_of = dict(zip(lines["player_id"].astype(int), lines["line"], strict=True))
    checked = 0
    for i in range(markets.count()):
        m = markets.nth(i)
        pid = int(m.get_attribute("data-player-id") or 0)
        m.locator("summary").click()
        books = m.locator(".books .book[data-book]").evaluate_all("""rows => rows.map(r => ({
            book: r.dataset.book, rejected: r.classList.contains('rejected'),
            line: parseFloat(r.children[1].dataset.value), over: parseFloat(r.children[2].dataset.value),
            under: parseFloat(r.children[3].dataset.value), best_over: r.children[2].dataset.best === 'over',
            best_under: r.children[3].dataset.best === 'under',
            bg: getComputedStyle(r.children[2]).backgroundColor}))""")
        mine = newest[newest["player_id"] == pid]
        assert sorted(b["book"] for b in books) == sorted(mine["sportsbook"]), pid
        if pid not in line_of:
            assert not any(b["best_over"] or b["best_under"] for b in books)
            continue
        at_line = [b for b in books if not b["rejected"] and b["line"] == line_of[pid]]
        for side in ("over", "under"):
            best = [b for b in books if b[f"best_{side}"]]
            if not at_line:
                assert best == []
                continue
            assert len(best) == 1, (pid, side, books)
            assert not best[0]["rejected"] and best[0]["line"] == line_of[pid]
            assert _decimal(best[0][side]) == max(_decimal(b[side]) for b in at_line)
        highlighted = [b for b in books if b["best_over"]]
        if highlighted:
            plain = [b for b in books if not b["best_over"]]
            # the highlight is visible: a background of its own, unlike the other cells of the column
            assert highlighted[0]["bg"] not in ("rgba(0, 0, 0, 0)", "transparent")
            assert all(b["bg"] != highlighted[0]["bg"] for b in plain)
            checked += 1
    assert checked > 20
    # the market column adds no rows to the slate table
    assert pg.locator("#slate-table tbody tr").count() == len(_slate_rows(served, D1, "catboost"))
    markets.nth(0).scroll_into_view_if_needed()
    pg.screenshot(path=str(shots / "slate_markets.png"), full_page=False)
