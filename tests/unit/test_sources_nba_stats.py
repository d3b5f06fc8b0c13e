"""sources.base and sources.nba_stats: payloads, landing, pacing, retries, snapshots, parsers.

Fixtures in tests/fixtures/sources are real values from ../shared/data in the stats.nba.com response
shapes (see tests/fixtures/sources/README.md). No test touches the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import stamina

from nbaprops.config import Settings
from nbaprops.errors import InputError, MissingColumnsError, SourceError
from nbaprops.ingest.sources.base import (
    GameLogSource,
    Pacer,
    RawPayload,
    ScheduleSource,
    SnapshotStore,
    land_payload,
    payload_from_json,
    payload_to_json,
    scrub_headers,
    scrub_params,
)
from nbaprops.ingest.sources.nba_stats import (
    GAME_LOG_COLUMNS,
    SCOREBOARD_COLUMNS,
    NbaStatsLive,
    NbaStatsSnapshot,
    nba_api_requester,
    parse_player_game_log_csv,
    parse_player_game_logs,
    parse_scoreboard_v3,
)
from nbaprops.warehouse import read_sql

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
SCOREBOARD = (FIXTURES / "scoreboardv3_2024-04-10.json").read_text(encoding="utf-8")
PLAYER_LOGS = (FIXTURES / "playergamelogs_2023-24_2024-04-10.json").read_text(encoding="utf-8")
FETCHED = datetime(2024, 4, 11, 12, 0, tzinfo=UTC)

# Header and Nikola Jokic's rows of APR 14/12/10 2024, verbatim from the shared
# boxscores/nba_api_playergamelog_2023-24/203999_2023-24.csv.
JOKIC_CSV = """SEASON_ID,Player_ID,Game_ID,GAME_DATE,MATCHUP,WL,MIN,FGM,FGA,FG_PCT,FG3M,FG3A,FG3_PCT,FTM,FTA,FT_PCT,OREB,DREB,REB,AST,STL,BLK,TOV,PF,PTS,PLUS_MINUS,VIDEO_AVAILABLE
22023,203999,0022301193,"APR 14, 2024",DEN @ MEM,W,31,7,11,0.636,0,0,0.0,1,2,0.5,4,11,15,5,4,0,4,1,15,19,1
22023,203999,0022301180,"APR 12, 2024",DEN @ SAS,L,39,9,13,0.692,1,2,0.5,3,3,1.0,2,5,7,12,2,1,3,5,22,-1,1
22023,203999,0022301164,"APR 10, 2024",DEN vs. MIN,W,38,16,20,0.8,2,2,1.0,7,12,0.583,2,9,11,7,3,0,2,5,41,6,1
"""


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, nba_stats_min_interval_s=0.6, http_timeout_s=5)  # type: ignore[call-arg]


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """stamina's test mode: no waiting between attempts, at most 3 attempts."""
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


class FakeClock:
    """A monotonic clock that only moves when slept on (or advanced by hand)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeRequester:
    """Stands in for nba_api's HTTP call: replays scripted outcomes and records call times."""

    def __init__(self, outcomes: list[object], clock: FakeClock | None = None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, dict[str, str], float]] = []
        self.clock = clock

    def __call__(self, endpoint: str, params: Mapping[str, str], timeout_s: float) -> tuple[int, str]:
        self.calls.append((endpoint, dict(params), self.clock() if self.clock else 0.0))
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, tuple)
        return outcome


def live(settings: Settings, requester: FakeRequester, clock: FakeClock | None = None,
         **kw: object) -> NbaStatsLive:
    clock = clock or FakeClock()
    pacer = Pacer(settings.nba_stats_min_interval_s, clock=clock, sleep=clock.sleep)
    return NbaStatsLive(settings, requester=requester, pacer=pacer, now=lambda: FETCHED, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- base


def test_scrub_params_removes_keys_and_cookies() -> None:
    clean = scrub_params({"apiKey": "s1", "api_key": "s2", "key": "s3", "Cookie": "sid=1", "markets": "player_points",
                          "DateFrom": "", "MeasureType": None, "Season": "2023-24"})
    assert clean == {"markets": "player_points", "DateFrom": "", "Season": "2023-24"}
    headers = scrub_headers({"Set-Cookie": "a=b", "Authorization": "Bearer t", "X-Requests-Remaining": "480",
                             "X-Api-Key": "s4"})
    assert headers == {"x-requests-remaining": "480"}


def test_raw_payload_scrubs_and_normalises() -> None:
    eastern = timezone(timedelta(hours=-4))
    p = RawPayload(source="odds_api", endpoint="events", params={"apiKey": "s3cr3t", "dateFormat": "iso"},
                   fetched_at=datetime(2024, 4, 10, 15, 0, tzinfo=eastern), status_code=200,
                   headers={"cookie": "x=1", "x-requests-used": "20"}, body="[]")
    assert p.params == {"dateFormat": "iso"}
    assert p.headers == {"x-requests-used": "20"}
    assert p.fetched_at == datetime(2024, 4, 10, 19, 0, tzinfo=UTC) and p.fetched_at.tzinfo == UTC
    assert "s3cr3t" not in repr(p)
    with pytest.raises(InputError, match="fetched_at"):
        RawPayload(source="x", endpoint="y", params={}, fetched_at=datetime(2024, 4, 10), status_code=200)


def test_payload_id_is_stable_and_param_sensitive() -> None:
    a = RawPayload("nba_stats", "scoreboardv3", {"GameDate": "2024-04-10", "LeagueID": "00"}, FETCHED, 200, {}, "{}")
    b = RawPayload("nba_stats", "scoreboardv3", {"LeagueID": "00", "GameDate": "2024-04-10"}, FETCHED, 200, {}, "x")
    c = RawPayload("nba_stats", "scoreboardv3", {"GameDate": "2024-04-11", "LeagueID": "00"}, FETCHED, 200, {}, "{}")
    assert a.payload_id == b.payload_id  # param order and body do not matter
    assert a.payload_id != c.payload_id
    assert len(a.payload_id) == 64
    assert a.body_sha256 == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # sha256("{}")


def test_land_payload_inserts_once() -> None:
    con = duckdb.connect()
    con.execute(read_sql("schema/001_raw_core.sql"))
    p = RawPayload("odds_api", "event_odds", {"event_id": "abc", "apiKey": "s3cr3t", "markets": "player_points"},
                   FETCHED, 200, {"x-requests-remaining": "480", "set-cookie": "a=b"}, '{"id": "abc"}')
    pid = land_payload(con, p)
    assert land_payload(con, p) == pid
    rows = con.execute("SELECT payload_id, source, endpoint, params, epoch(fetched_at), status_code, headers, body,"
                       " body_sha256 FROM raw_payloads").fetchall()
    assert len(rows) == 1
    row = rows[0]
    assert row[0] == pid and row[1:4] == ("odds_api", "event_odds", '{"event_id":"abc","markets":"player_points"}')
    assert row[4] == FETCHED.timestamp()
    assert json.loads(row[6]) == {"x-requests-remaining": "480"}
    assert row[7] == '{"id": "abc"}' and row[8] == p.body_sha256
    assert "s3cr3t" not in str(rows)


def test_payload_json_round_trip() -> None:
    p = RawPayload("nba_stats", "scoreboardv3", {"GameDate": "2024-04-10"}, FETCHED, 200, {}, SCOREBOARD)
    assert payload_from_json(payload_to_json(p)) == p
    with pytest.raises(InputError, match="field 'body'"):
        payload_from_json('{"source": "a", "endpoint": "b", "params": {}, "fetched_at": "2024-04-10T00:00:00+00:00",'
                          ' "status_code": 200}', file="x.json")


# --------------------------------------------------------------------------- pacing


def test_pacer_spaces_calls_at_least_min_interval() -> None:
    clock = FakeClock()
    pacer = Pacer(0.6, clock=clock, sleep=clock.sleep)
    starts = []
    for gap in (0.0, 0.1, 0.0, 0.59, 2.0):
        clock.now += gap  # time spent by the caller between calls
        pacer.wait()
        starts.append(clock.now)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(g >= 0.6 - 1e-9 for g in gaps), gaps
    assert gaps[-1] == pytest.approx(2.0)  # no sleep when enough time already passed
    assert clock.sleeps[0] == pytest.approx(0.5)  # 0.6 - 0.1 already elapsed


def test_live_requests_are_paced(settings: Settings) -> None:
    clock = FakeClock()
    requester = FakeRequester([(200, SCOREBOARD)], clock)
    src = live(settings, requester, clock)
    for d in (date(2024, 4, 10), date(2024, 4, 11), date(2024, 4, 12)):
        src.fetch_scoreboard(d)
    times = [t for _, _, t in requester.calls]
    assert len(times) == 3
    assert all(b - a >= 0.6 - 1e-9 for a, b in zip(times, times[1:], strict=False)), times


# --------------------------------------------------------------------------- live fetch, retry, errors


def test_fetch_scoreboard_lands_body_untouched(settings: Settings) -> None:
    requester = FakeRequester([(200, SCOREBOARD)])
    p = live(settings, requester).fetch_scoreboard(date(2024, 4, 10))
    assert requester.calls[0][:2] == ("scoreboardv3", {"GameDate": "2024-04-10", "LeagueID": "00"})
    assert (p.source, p.endpoint, p.status_code, p.fetched_at) == ("nba_stats", "scoreboardv3", 200, FETCHED)
    assert p.params == {"GameDate": "2024-04-10", "LeagueID": "00"}
    assert p.body == SCOREBOARD


def test_fetch_player_game_logs_sends_nba_api_params(settings: Settings) -> None:
    requester = FakeRequester([(200, PLAYER_LOGS)])
    p = live(settings, requester).fetch_player_game_logs("2023-24", date(2024, 4, 10), date(2024, 4, 12))
    endpoint, params, _ = requester.calls[0]
    assert endpoint == "playergamelogs" == p.endpoint
    assert params["Season"] == "2023-24" and params["SeasonType"] == "Regular Season"
    assert (params["DateFrom"], params["DateTo"]) == ("04/10/2024", "04/12/2024")
    assert p.params == params
    with pytest.raises(InputError, match="season"):
        live(settings, requester).fetch_player_game_logs("2023-25")


def test_fetch_league_game_log_params(settings: Settings) -> None:
    requester = FakeRequester([(200, '{"resultSets": []}')])
    p = live(settings, requester).fetch_league_game_log("2023-24", season_type="Playoffs")
    assert p.endpoint == "leaguegamelog"
    assert p.params["PlayerOrTeam"] == "T" and p.params["SeasonType"] == "Playoffs"


def test_transient_failure_is_retried(settings: Settings, no_backoff: None) -> None:
    requester = FakeRequester([ConnectionError("connection reset by peer"), (200, SCOREBOARD)])
    p = live(settings, requester).fetch_scoreboard(date(2024, 4, 10))
    assert len(requester.calls) == 2
    assert p.body == SCOREBOARD


def test_http_503_then_200_is_retried(settings: Settings, no_backoff: None) -> None:
    requester = FakeRequester([(503, "<html>busy</html>"), (200, "  "), (200, SCOREBOARD)])
    p = live(settings, requester).fetch_scoreboard(date(2024, 4, 10))
    assert len(requester.calls) == 3  # 503, empty body, success
    assert p.status_code == 200


def test_persistent_transient_failure_raises_source_error(settings: Settings, no_backoff: None) -> None:
    requester = FakeRequester([TimeoutError("read timed out")])
    with pytest.raises(SourceError, match=r"scoreboardv3 .*failed after .*TimeoutError"):
        live(settings, requester, attempts=3).fetch_scoreboard(date(2024, 4, 10))
    assert len(requester.calls) == 3


@pytest.mark.parametrize("outcome", [(400, "Bad Request: GameDate"), (200, "<html>not json</html>"),
                                     ValueError("unexpected")])
def test_non_retryable_failure_raises_source_error_at_once(settings: Settings, no_backoff: None,
                                                           outcome: object) -> None:
    requester = FakeRequester([outcome])
    with pytest.raises(SourceError, match="stats.nba.com scoreboardv3"):
        live(settings, requester).fetch_scoreboard(date(2024, 4, 10))
    assert len(requester.calls) == 1


def test_nba_api_requester_uses_nba_api_http_and_returns_status_and_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default requester goes through nba_api's own HTTP client (session swapped for a fake)."""
    from nba_api.stats.library.http import NBAStatsHTTP

    class FakeResponse:
        def __init__(self, url: str, status_code: int, text: str) -> None:
            self.url, self.status_code, self.text = url, status_code, text

    class FakeSession:
        def __init__(self) -> None:
            self.calls: list[dict[str, object]] = []

        def get(self, url: str, **kw: object) -> FakeResponse:
            self.calls.append({"url": url, **kw})
            return FakeResponse(url, 503 if len(self.calls) > 1 else 200, SCOREBOARD)

    session = FakeSession()
    monkeypatch.setattr(NBAStatsHTTP, "_session", session)
    assert nba_api_requester("scoreboardv3", {"GameDate": "2024-04-10", "LeagueID": "00"}, 7.0) == (200, SCOREBOARD)
    call = session.calls[0]
    assert call["url"] == "https://stats.nba.com/stats/scoreboardv3"
    assert dict(call["params"]) == {"GameDate": "2024-04-10", "LeagueID": "00"}  # type: ignore[call-overload]
    assert call["timeout"] == 7.0 and "User-Agent" in call["headers"]  # type: ignore[operator]
    assert nba_api_requester("scoreboardv3", {"GameDate": "2024-04-10"}, 7.0)[0] == 503


# --------------------------------------------------------------------------- snapshot source


def test_snapshot_replays_what_live_saved(settings: Settings, tmp_path: Path) -> None:
    requester = FakeRequester([(200, SCOREBOARD), (200, PLAYER_LOGS)])
    src = live(settings, requester, store=SnapshotStore(tmp_path))
    fetched = src.fetch_scoreboard(date(2024, 4, 10))
    logs = src.fetch_player_game_logs("2023-24", date(2024, 4, 10), date(2024, 4, 12))
    snap = NbaStatsSnapshot(tmp_path)
    assert isinstance(snap, ScheduleSource) and isinstance(snap, GameLogSource)
    assert isinstance(src, ScheduleSource) and isinstance(src, GameLogSource)
    assert snap.fetch_scoreboard(date(2024, 4, 10)) == fetched
    assert snap.fetch_player_game_logs("2023-24", date(2024, 4, 10), date(2024, 4, 12)) == logs
    with pytest.raises(SourceError, match="no nba_stats snapshot for scoreboardv3"):
        snap.fetch_scoreboard(date(2024, 4, 11))


# --------------------------------------------------------------------------- parsers


def test_parse_scoreboard_v3_real_slate() -> None:
    df = parse_scoreboard_v3(SCOREBOARD)
    assert list(df.columns) == SCOREBOARD_COLUMNS
    assert len(df) == 8
    assert set(df["game_date"]) == {date(2024, 4, 10)}  # late West-coast tip-offs are 04-11 in UTC
    assert set(df["status"]) == {"final"}
    den = df.set_index("game_id").loc["0022301164"]
    assert (den["home_abbr"], den["away_abbr"]) == ("DEN", "MIN")
    assert (den["home_team_id"], den["away_team_id"]) == (1610612743, 1610612750)
    assert (den["home_pts"], den["away_pts"]) == (116, 107)
    assert den["tipoff_at"] == pd.Timestamp("2024-04-11T02:10:00Z")
    lac = df.set_index("game_id").loc["0022301165"]
    assert (lac["home_abbr"], lac["away_abbr"], lac["home_pts"], lac["away_pts"]) == ("LAC", "PHX", 108, 124)
    assert str(df["tipoff_at"].dt.tz) == "UTC"
    assert df["home_pts"].dtype == "Int64" and df["home_team_id"].dtype == "int64"


def test_parse_scoreboard_v3_scheduled_and_live_games() -> None:
    doc = json.loads(SCOREBOARD)
    g0, g1 = doc["scoreboard"]["games"][:2]
    g0.update(gameStatus=1, gameStatusText="7:10 pm ET")
    g0["homeTeam"]["score"] = g0["awayTeam"]["score"] = 0
    g1.update(gameStatus=2, gameStatusText="Q3 5:12")
    df = parse_scoreboard_v3(json.dumps(doc))
    assert list(df["status"][:3]) == ["scheduled", "live", "final"]
    assert pd.isna(df.loc[0, "home_pts"]) and pd.isna(df.loc[0, "away_pts"])
    assert df.loc[1, "home_pts"] == 114


def test_parse_scoreboard_v3_bad_input_names_row_and_field() -> None:
    doc = json.loads(SCOREBOARD)
    del doc["scoreboard"]["games"][2]["awayTeam"]["teamTricode"]
    with pytest.raises(InputError, match=r"file sb\.json, row 3, field 'awayTeam\.teamTricode'"):
        parse_scoreboard_v3(json.dumps(doc), source="sb.json")
    with pytest.raises(InputError, match="not JSON"):
        parse_scoreboard_v3("<html>", source="sb.json")
    with pytest.raises(InputError, match="ScoreboardV3"):
        parse_scoreboard_v3('{"resultSets": []}')


def test_parse_player_game_logs_real_rows() -> None:
    df = parse_player_game_logs(PLAYER_LOGS)
    assert list(df.columns) == GAME_LOG_COLUMNS
    assert len(df) == 6
    jokic = df[(df["player_id"] == 203999) & (df["game_date"] == date(2024, 4, 10))].iloc[0]
    assert jokic["game_id"] == "0022301164" and jokic["matchup"] == "DEN vs. MIN"
    assert (jokic["team_abbr"], jokic["opp_abbr"], bool(jokic["is_home"]), jokic["wl"]) == ("DEN", "MIN", True, "W")
    assert (jokic["minutes"], jokic["pts"], jokic["reb"], jokic["ast"], jokic["plus_minus"]) == (38.0, 41, 11, 7, 6)
    ant = df[(df["player_id"] == 1630162) & (df["game_date"] == date(2024, 4, 10))].iloc[0]
    assert (ant["team_abbr"], ant["opp_abbr"], bool(ant["is_home"]), ant["pts"], ant["plus_minus"]) == (
        "MIN", "DEN", False, 25, -16)
    assert df["pts"].dtype == "int64" and df["minutes"].dtype == "float64" and df["is_home"].dtype == bool


def test_parse_player_game_log_csv_official_format(tmp_path: Path) -> None:
    path = tmp_path / "203999_2023-24.csv"
    path.write_text(JOKIC_CSV, encoding="utf-8")
    df = parse_player_game_log_csv(path)
    assert list(df.columns) == GAME_LOG_COLUMNS
    assert list(df["game_date"]) == [date(2024, 4, 14), date(2024, 4, 12), date(2024, 4, 10)]
    assert list(df["is_home"]) == [False, False, True]
    assert list(df["opp_abbr"]) == ["MEM", "SAS", "MIN"]
    assert list(df["pts"]) == [15, 22, 41] and list(df["plus_minus"]) == [19, -1, 6]
    assert df["game_id"].iloc[0] == "0022301193"
    # the official single-player log and the live all-players log agree on the same games
    plural = parse_player_game_logs(PLAYER_LOGS)
    plural = plural[plural["player_id"] == 203999].sort_values("game_date").reset_index(drop=True)
    single = df[df["game_date"] <= date(2024, 4, 12)].sort_values("game_date").reset_index(drop=True)
    pd.testing.assert_frame_equal(single, plural)


def test_parse_player_game_log_csv_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "1628366_2023-24.csv"
    path.write_text(JOKIC_CSV.splitlines()[0] + "\n", encoding="utf-8")
    df = parse_player_game_log_csv(path)
    assert df.empty and list(df.columns) == GAME_LOG_COLUMNS
    assert df["pts"].dtype == "int64"


def test_parse_player_game_log_csv_bad_input(tmp_path: Path) -> None:
    bad_date = tmp_path / "bad_date.csv"
    bad_date.write_text(JOKIC_CSV.replace('"APR 12, 2024"', '"APRIL 99, 2024"'), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad_date\.csv, row 3, field 'GAME_DATE'.*APRIL 99"):
        parse_player_game_log_csv(bad_date)
    no_pts = tmp_path / "no_pts.csv"
    no_pts.write_text(JOKIC_CSV.replace(",PTS,", ",POINTS,"), encoding="utf-8")
    with pytest.raises(MissingColumnsError, match="PTS"):
        parse_player_game_log_csv(no_pts)
    bad_matchup = tmp_path / "bad_matchup.csv"
    bad_matchup.write_text(JOKIC_CSV.replace("DEN @ MEM", "DEN at MEM"), encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, field 'MATCHUP'"):
        parse_player_game_log_csv(bad_matchup)
    with pytest.raises(InputError, match="cannot read"):
        parse_player_game_log_csv(tmp_path / "missing.csv")


@pytest.mark.integration
def test_plural_fixture_matches_shared_official_csvs(shared_data: Path) -> None:
    """Every fixture row equals the official PlayerGameLog CSV row of the same player and game."""
    plural = parse_player_game_logs(PLAYER_LOGS)
    folder = shared_data / "boxscores" / "nba_api_playergamelog_2023-24"
    official = pd.concat([parse_player_game_log_csv(folder / f"{pid}_2023-24.csv")
                          for pid in sorted(set(plural["player_id"]))], ignore_index=True)
    merged = plural.merge(official, on=["game_id", "player_id"], suffixes=("", "_csv"), validate="1:1")
    assert len(merged) == len(plural) == 6
    for col in GAME_LOG_COLUMNS[2:]:
        assert (merged[col] == merged[f"{col}_csv"]).all(), col
