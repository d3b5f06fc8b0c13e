"""sources.odds_api: The Odds API v4 client (respx-mocked), key safety, budget, retries, flattening.

The event-odds fixture is one real event of the shared bulk file (MIN @ DEN, 2024-04-10: three
books, three players, player_points) rebuilt in the API's JSON shape; the ``.expected.parquet`` next
to it holds the same rows exactly as the bulk file stores them.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import httpx
import pandas as pd
import pytest
import respx
import stamina

from nbaprops.config import Settings
from nbaprops.errors import BudgetExceededError, InputError, SourceError
from nbaprops.ingest.sources.base import MASK, OddsSource, RawPayload, SnapshotStore, land_payload
from nbaprops.ingest.sources.odds_api import (
    EVENT_COLUMNS,
    ODDS_COLUMNS,
    OddsApiLive,
    OddsApiSnapshot,
    flatten_event_odds,
    parse_events,
)
from nbaprops.warehouse import read_sql

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
EVENT_ID = "7f12f126cd8d2b554b709ade5d43c5cd"
EVENT_ODDS = (FIXTURES / f"odds_event_{EVENT_ID}_2024-04-10.json").read_text(encoding="utf-8")
EXPECTED = FIXTURES / f"odds_event_{EVENT_ID}_2024-04-10.expected.parquet"
EVENTS = (FIXTURES / "odds_events_2024-04-10.json").read_text(encoding="utf-8")
BASE = "https://api.the-odds-api.com"
KEY = "k3y-SECRET-0123456789abcdef"
ODDS_PATH = f"/v4/sports/basketball_nba/events/{EVENT_ID}/odds"
QUOTA = {"x-requests-remaining": "480", "x-requests-used": "20", "x-requests-last": "1",
         "set-cookie": "session=abc"}
FETCHED = datetime(2024, 4, 10, 19, 15, tzinfo=UTC)
AT = datetime(2024, 4, 10, 19, 10, tzinfo=UTC)


def make_settings(key: str | None = KEY, budget: int = 10) -> Settings:
    return Settings(_env_file=None, odds_api_key=key, odds_api_budget=budget,  # type: ignore[call-arg]
                    odds_api_base_url=BASE, http_timeout_s=5)


def make_live(key: str | None = KEY, budget: int = 10, **kw: object) -> OddsApiLive:
    return OddsApiLive(make_settings(key, budget), httpx.Client(), now=lambda: FETCHED, **kw)  # type: ignore[arg-type]


@pytest.fixture
def no_backoff() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def ok(body: str) -> httpx.Response:
    return httpx.Response(200, text=body, headers=QUOTA)


# --------------------------------------------------------------------------- requests


def test_fetch_event_odds_sends_key_and_lands_clean_payload(api: respx.MockRouter) -> None:
    route = api.get(ODDS_PATH).mock(return_value=ok(EVENT_ODDS))
    src = make_live()
    assert isinstance(src, OddsSource)
    p = src.fetch_event_odds(EVENT_ID, markets=("player_points", "player_rebounds"))
    sent = route.calls.last.request.url.params
    assert sent["apiKey"] == KEY
    assert (sent["markets"], sent["regions"], sent["oddsFormat"], sent["dateFormat"]) == (
        "player_points,player_rebounds", "us", "american", "iso")
    assert (p.source, p.endpoint, p.status_code, p.fetched_at) == ("odds_api", "event_odds", 200, FETCHED)
    assert p.params == {"event_id": EVENT_ID, "markets": "player_points,player_rebounds", "regions": "us",
                        "oddsFormat": "american", "dateFormat": "iso"}
    assert p.headers["x-requests-remaining"] == "480" and p.headers["x-requests-last"] == "1"
    assert "set-cookie" not in p.headers
    assert p.body == EVENT_ODDS
    assert (src.requests_made, src.quota_remaining, src.quota_used) == (1, 480, 20)


def test_fetch_events_and_historical_paths(api: respx.MockRouter) -> None:
    events = api.get("/v4/sports/basketball_nba/events").mock(return_value=ok(EVENTS))
    hist_events = api.get("/v4/historical/sports/basketball_nba/events").mock(
        return_value=ok(json.dumps({"timestamp": "2024-04-10T19:10:00Z", "data": json.loads(EVENTS)})))
    hist_odds = api.get(f"/v4/historical/sports/basketball_nba/events/{EVENT_ID}/odds").mock(
        return_value=ok(json.dumps({"timestamp": "2024-04-10T19:10:00Z", "data": json.loads(EVENT_ODDS)})))
    src = make_live()
    p = src.fetch_events(datetime(2024, 4, 10, 12, tzinfo=UTC), datetime(2024, 4, 11, 12, tzinfo=UTC))
    assert events.calls.last.request.url.params["commenceTimeFrom"] == "2024-04-10T12:00:00Z"
    assert p.params == {"commenceTimeFrom": "2024-04-10T12:00:00Z", "commenceTimeTo": "2024-04-11T12:00:00Z",
                        "dateFormat": "iso"}
    assert parse_events(p.body)["id"].tolist()[-2:] == [EVENT_ID, "34506e7cab6e157af8028b83278af200"]
    h = src.fetch_historical_events(AT)
    assert hist_events.calls.last.request.url.params["date"] == "2024-04-10T19:10:00Z"
    assert h.endpoint == "historical_events" and len(parse_events(h.body)) == 8
    o = src.fetch_historical_event_odds(EVENT_ID, AT)
    assert hist_odds.calls.last.request.url.params["markets"] == "player_points"
    assert o.params["date"] == "2024-04-10T19:10:00Z" and o.params["event_id"] == EVENT_ID
    assert len(flatten_event_odds(o.body)) == 18
    assert src.requests_made == 3


def test_naive_datetimes_and_bad_ids_are_rejected_before_any_call(api: respx.MockRouter) -> None:
    route = api.route().mock(return_value=ok("[]"))
    src = make_live()
    with pytest.raises(InputError, match="timezone-aware"):
        src.fetch_events(datetime(2024, 4, 10), datetime(2024, 4, 11, tzinfo=UTC))
    with pytest.raises(InputError, match="event id"):
        src.fetch_event_odds("../../v4/sports")
    assert route.call_count == 0


# --------------------------------------------------------------------------- key safety


def test_missing_key_tells_user_which_variable_to_set(api: respx.MockRouter) -> None:
    route = api.route().mock(return_value=ok("[]"))
    with pytest.raises(SourceError, match="NBAPROPS_ODDS_API_KEY"):
        make_live(key=None).fetch_event_odds(EVENT_ID)
    assert route.call_count == 0


def test_key_never_reaches_payload_logs_or_errors(api: respx.MockRouter, no_backoff: None,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    src = make_live()
    # 1. success after a 500 (retry logs) - the payload and the landed row are clean
    api.get(ODDS_PATH).mock(side_effect=[httpx.Response(500, text="oops"), ok(EVENT_ODDS)])
    p = src.fetch_event_odds(EVENT_ID)
    con = duckdb.connect()
    con.execute(read_sql("schema/001_raw_core.sql"))
    land_payload(con, p)
    stored = str(con.execute("SELECT * REPLACE (fetched_at::VARCHAR AS fetched_at) FROM raw_payloads").fetchall())
    # 2. an error body that echoes the key, 3. a transport error whose text holds the URL, 4. 401
    api.get("/v4/sports/basketball_nba/events").mock(side_effect=[
        httpx.Response(422, json={"message": f"Invalid date for key {KEY}", "error_code": "INVALID_DATE"}),
        httpx.Response(401, json={"message": "API key is not valid", "error_code": "INVALID_KEY"}),
    ])
    api.get("/v4/historical/sports/basketball_nba/events").mock(
        side_effect=httpx.ConnectError(f"cannot reach {BASE}/v4/historical/sports/basketball_nba/events?apiKey={KEY}"))
    window = (datetime(2024, 4, 10, tzinfo=UTC), datetime(2024, 4, 11, tzinfo=UTC))
    errors = []
    for call in (lambda: src.fetch_events(*window), lambda: src.fetch_events(*window),
                 lambda: src.fetch_historical_events(AT)):
        with pytest.raises(SourceError) as info:
            call()
        errors.append(info.value)
    assert "INVALID_DATE" in str(errors[0]) and "HTTP 422" in str(errors[0])
    assert "INVALID_KEY" in str(errors[1]) and "401" in str(errors[1])
    assert "ConnectError: cannot reach" in str(errors[2]) and "apiKey=***" in str(errors[2])
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log the URLs
    chained = [repr(x) for e in errors for x in (e.__cause__, e.__context__)]
    for text in (repr(p), p.body, json.dumps(p.params), json.dumps(p.headers), stored, caplog.text,
                 *(str(e) for e in errors), *chained,
                 *(r.getMessage() for r in caplog.records), *(str(r.__dict__) for r in caplog.records)):
        assert KEY not in text


SPECIAL_KEY = "sk/test+SECRET=="


def _encodings(secret: str) -> list[str]:
    """The spellings a key can take on its way to storage or a log."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), quote(secret, safe="").lower(),
             quote(quote(secret, safe=""), safe=""), json.dumps(secret)[1:-1].replace("/", "\\/"),
             base64.b64encode(secret.encode()).decode(), base64.urlsafe_b64encode(secret.encode()).decode()}
    return sorted(forms)


def test_a_key_with_url_special_characters_is_masked_in_every_encoding(
        api: respx.MockRouter, no_backoff: None, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue case 12: an upstream that echoes the request URL (so the key URL-encoded) in the body, in
    a header and in an error; a transport error naming the URL. Nothing stored, saved, logged or raised
    holds the key in any encoding."""
    caplog.set_level(logging.DEBUG)

    def echo(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        body = json.dumps({**json.loads(EVENT_ODDS), "request_url": url, "request_url_escaped": url.replace("/", "\\/"),
                           "key_b64": base64.b64encode(SPECIAL_KEY.encode()).decode()})
        return httpx.Response(200, text=body, headers={**QUOTA, "x-requests-last": url})

    api.get(ODDS_PATH).mock(side_effect=echo)
    api.get("/v4/sports/basketball_nba/events").mock(
        side_effect=lambda request: httpx.Response(422, json={"message": f"bad request {request.url}",
                                                              "error_code": "INVALID"}))
    api.get("/v4/historical/sports/basketball_nba/events").mock(
        side_effect=lambda request: (_ for _ in ()).throw(httpx.ConnectError(f"cannot reach {request.url}")))
    src = make_live(key=SPECIAL_KEY, store=SnapshotStore(tmp_path))
    p = src.fetch_event_odds(EVENT_ID)
    assert quote(SPECIAL_KEY, safe="") in str(api.calls.last.request.url)        # it was sent, URL-encoded
    assert json.loads(p.body)["request_url"].endswith("apiKey=***") and "bookmakers" in json.loads(p.body)
    con = duckdb.connect()
    con.execute(read_sql("schema/001_raw_core.sql"))
    land_payload(con, p)
    stored = str(con.execute("SELECT * REPLACE (fetched_at::VARCHAR AS fetched_at) FROM raw_payloads").fetchall())
    errors = []
    for call in (lambda: src.fetch_events(datetime(2024, 4, 10, tzinfo=UTC), datetime(2024, 4, 11, tzinfo=UTC)),
                 lambda: src.fetch_historical_events(AT)):
        with pytest.raises(SourceError) as info:
            call()
        errors.append(info.value)
    assert "INVALID" in str(errors[0]) and "ConnectError" in str(errors[1])
    saved = "".join(f.read_text() for f in tmp_path.iterdir())
    texts = [repr(p), p.body, json.dumps(p.headers), stored, saved, caplog.text, *(str(e) for e in errors),
             *(r.getMessage() for r in caplog.records)]
    leaks = [(form, text[:80]) for form in _encodings(SPECIAL_KEY) for text in texts if form in text]
    assert not leaks
    assert MASK in p.body and MASK in stored


# --------------------------------------------------------------------------- retries, budget


def test_429_then_200_is_retried(api: respx.MockRouter, no_backoff: None) -> None:
    route = api.get(ODDS_PATH).mock(side_effect=[httpx.Response(429, text="slow down"), ok(EVENT_ODDS)])
    p = make_live().fetch_event_odds(EVENT_ID)
    assert route.call_count == 2 and p.body == EVENT_ODDS


def test_persistent_5xx_raises_source_error(api: respx.MockRouter, no_backoff: None) -> None:
    route = api.get(ODDS_PATH).mock(return_value=httpx.Response(503, text="unavailable"))
    with pytest.raises(SourceError, match=r"failed after 3 attempt\(s\): HTTP 503"):
        make_live(attempts=3).fetch_event_odds(EVENT_ID)
    assert route.call_count == 3


def test_401_is_not_retried(api: respx.MockRouter, no_backoff: None) -> None:
    route = api.get(ODDS_PATH).mock(return_value=httpx.Response(401, json={"message": "bad key"}))
    with pytest.raises(SourceError, match="rejected the key"):
        make_live().fetch_event_odds(EVENT_ID)
    assert route.call_count == 1


def test_budget_refuses_the_call_that_would_exceed_it(api: respx.MockRouter) -> None:
    route = api.get(ODDS_PATH).mock(return_value=ok(EVENT_ODDS))
    src = make_live(budget=2)
    src.fetch_event_odds(EVENT_ID)
    src.fetch_event_odds(EVENT_ID)
    with pytest.raises(BudgetExceededError, match="2 of 2 requests"):
        src.fetch_event_odds(EVENT_ID)
    assert route.call_count == 2


def test_zero_remaining_quota_refuses_next_call(api: respx.MockRouter) -> None:
    spent = {**QUOTA, "x-requests-remaining": "0", "x-requests-used": "500"}
    route = api.get(ODDS_PATH).mock(return_value=httpx.Response(200, text=EVENT_ODDS, headers=spent))
    src = make_live(budget=100)
    src.fetch_event_odds(EVENT_ID)
    with pytest.raises(BudgetExceededError, match="x-requests-remaining=0"):
        src.fetch_event_odds(EVENT_ID)
    assert route.call_count == 1 and src.quota_remaining == 0


def test_snapshot_replays_what_live_saved(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get(ODDS_PATH).mock(return_value=ok(EVENT_ODDS))
    fetched = make_live(store=SnapshotStore(tmp_path)).fetch_event_odds(EVENT_ID)
    snap = OddsApiSnapshot(tmp_path)
    assert isinstance(snap, OddsSource)
    assert snap.fetch_event_odds(EVENT_ID) == fetched
    assert KEY not in "".join(f.read_text() for f in tmp_path.iterdir())
    with pytest.raises(SourceError, match="no odds_api snapshot"):
        snap.fetch_event_odds(EVENT_ID, markets=("player_assists",))


# --------------------------------------------------------------------------- parsers


def test_flatten_event_odds_reproduces_bulk_rows_exactly() -> None:
    df = flatten_event_odds(EVENT_ODDS)
    expected = pd.read_parquet(EXPECTED)
    assert list(df.columns) == ODDS_COLUMNS == list(expected.columns)
    pd.testing.assert_frame_equal(df, expected, check_dtype=True, check_exact=True)
    jokic = df[(df["outcomes_description"] == "Nikola Jokic") & (df["bookmakers.key"] == "draftkings")]
    assert jokic[["outcomes_name", "outcomes_price", "outcomes_point"]].values.tolist() == [
        ["Over", -110, 28.5], ["Under", -120, 28.5]]
    assert set(df["file_date"]) == {"2024-04-10"} and df["bookmakers.last_update"].isna().all()


def test_flatten_historical_envelope_and_file_date_rules() -> None:
    event = json.loads(EVENT_ODDS)
    wrapped = json.dumps({"timestamp": "2024-04-09T18:30:00Z", "previous_timestamp": "2024-04-09T18:25:00Z",
                          "next_timestamp": "2024-04-09T18:35:00Z", "data": event})
    hist = flatten_event_odds(wrapped)
    assert set(hist["file_date"]) == {"2024-04-09"}  # the snapshot's Eastern date
    assert hist.drop(columns="file_date").equals(flatten_event_odds(EVENT_ODDS).drop(columns="file_date"))
    assert set(flatten_event_odds(EVENT_ODDS, file_date=date(2024, 4, 8))["file_date"]) == {"2024-04-08"}
    # a quote stamped 01:30 UTC on the 11th is still the 10th in New York
    event["bookmakers"][0]["markets"][0]["last_update"] = "2024-04-11T01:30:00Z"
    event["bookmakers"][0]["last_update"] = "2024-04-11T01:30:00Z"
    df = flatten_event_odds(json.dumps(event))
    dk = df[df["bookmakers.key"] == "draftkings"]
    assert set(dk["file_date"]) == {"2024-04-10"}
    assert set(dk["bookmakers.last_update"]) == {datetime(2024, 4, 11, 1, 30, tzinfo=UTC).timestamp()}


def test_flatten_rejects_bad_prices_and_non_events() -> None:
    event = json.loads(EVENT_ODDS)
    event["bookmakers"][1]["markets"][0]["outcomes"][0]["price"] = 1.91
    with pytest.raises(InputError, match=r"row 7, field 'outcomes.price'.*oddsFormat=american"):
        flatten_event_odds(json.dumps(event), source="payload-1")
    # an integer that is not an American price, a missing price and a non-integer American price
    for bad, why in ((50, "is not a valid American price"), (None, "is missing"),
                     (-110.5, "is not an American-odds integer")):
        event["bookmakers"][1]["markets"][0]["outcomes"][0]["price"] = bad
        with pytest.raises(InputError, match=rf"^file payload-1, row 7, field 'outcomes.price': price {bad!r} {why}"):
            flatten_event_odds(json.dumps(event), source="payload-1")
    with pytest.raises(InputError, match="not an Odds API event"):
        flatten_event_odds('{"message": "quota"}')
    empty = flatten_event_odds(json.dumps({**json.loads(EVENT_ODDS), "bookmakers": []}))
    assert empty.empty and list(empty.columns) == ODDS_COLUMNS
    assert empty.dtypes.equals(pd.read_parquet(EXPECTED).dtypes)


def test_parse_events_real_slate() -> None:
    ev = parse_events(EVENTS)
    assert list(ev.columns) == EVENT_COLUMNS and len(ev) == 8
    den = ev[ev["id"] == EVENT_ID].iloc[0]
    assert (den["home_team"], den["away_team"], den["commence_time"]) == (
        "Denver Nuggets", "Minnesota Timberwolves", "2024-04-11T02:10:00Z")


@pytest.mark.integration
def test_flatten_matches_the_shared_bulk_file(shared_data: Path) -> None:
    """The live-payload flattening equals the shared bulk parquet's rows for the same quotes."""
    df = flatten_event_odds(EVENT_ODDS)
    bulk = pd.read_parquet(
        shared_data / "lines" / "odds_api_2024-03_to_2024-05.parquet",
        filters=[("id", "==", EVENT_ID), ("file_date", "==", "2024-04-10"),
                 ("bookmakers.markets.key", "==", "player_points"),
                 ("bookmakers.key", "in", sorted(set(df["bookmakers.key"]))),
                 ("outcomes_description", "in", sorted(set(df["outcomes_description"])))],
    ).reset_index(drop=True)
    pd.testing.assert_frame_equal(df, bulk, check_dtype=True, check_exact=True)


def test_raw_payload_of_flattened_body_round_trips() -> None:
    p = RawPayload("odds_api", "event_odds", {"event_id": EVENT_ID}, FETCHED, 200, {}, EVENT_ODDS)
    assert len(flatten_event_odds(p.body, file_date=p.fetched_at.date())) == 18
