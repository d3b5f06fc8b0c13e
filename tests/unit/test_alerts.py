"""monitor.alerts against a real local HTTP server on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stamina

from nbaprops.config import Settings
from nbaprops.ops.alerts import Alert, FanoutSink, LogSink, MemorySink, SlackWebhookSink, make_sink

ALERT = Alert(kind="gate_blocked", title="analytics for 2024-04-10 blocked by its gate",
              detail="player box scores missing for 1 final game(s): 0022301144 (2024-04-09, DAL@CHA)")


class Hook:
    """A webhook on 127.0.0.1 that answers the scripted statuses in order (then 200) and records bodies."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                      "json": json.loads(body)})
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"error")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0001/B0002/s3cr3tT0k3n"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook([])
    try:
        yield h
    finally:
        h.close()


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """stamina's test mode: no waiting between attempts (attempts capped at 3)."""
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


def test_slack_sink_posts_the_alert_as_json(hook: Hook) -> None:
    assert SlackWebhookSink(hook.url).send(ALERT) is True
    assert len(hook.requests) == 1
    req = hook.requests[0]
    assert req["path"] == "/services/T0001/B0002/s3cr3tT0k3n"
    assert req["content_type"] == "application/json"
    assert req["json"] == {"text": "nbaprops ERROR gate_blocked: analytics for 2024-04-10 blocked by its gate\n"
                                   "player box scores missing for 1 final game(s): 0022301144 (2024-04-09, DAL@CHA)"}
    assert req["json"] == SlackWebhookSink.payload(ALERT)


def test_500_then_200_is_retried_and_delivered(hook: Hook) -> None:
    hook.statuses = [500, 200]
    assert SlackWebhookSink(hook.url).send(ALERT) is True
    assert len(hook.requests) == 2
    assert hook.requests[0]["json"] == hook.requests[1]["json"]


def test_persistent_5xx_gives_up_after_the_attempts_without_raising(hook: Hook,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    hook.statuses = [503, 503, 503, 503]
    with caplog.at_level(logging.DEBUG):
        assert SlackWebhookSink(hook.url, attempts=3).send(ALERT) is False
    assert len(hook.requests) == 3
    assert any("was not delivered to Slack" in r.getMessage() for r in caplog.records)


def test_a_4xx_answer_is_not_retried(hook: Hook) -> None:
    hook.statuses = [404]
    assert SlackWebhookSink(hook.url).send(ALERT) is False
    assert len(hook.requests) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_webhook_does_not_raise_and_never_logs_the_url(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/services/T0001/B0002/s3cr3tT0k3n"
    with caplog.at_level(logging.DEBUG):
        assert SlackWebhookSink(url, timeout_s=1.0).send(ALERT) is False
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "was not delivered to Slack" in text
    assert "s3cr3tT0k3n" not in text


def test_the_webhook_url_is_masked_in_httpx_request_logs(hook: Hook, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert SlackWebhookSink(hook.url).send(ALERT)
    assert caplog.records, "httpx logs each request at INFO"
    assert all("s3cr3tT0k3n" not in r.getMessage() for r in caplog.records)


def test_make_sink_logs_always_and_posts_to_slack_when_configured(hook: Hook) -> None:
    plain = make_sink(Settings(_env_file=None))  # type: ignore[call-arg]
    assert isinstance(plain, LogSink)
    both = make_sink(Settings(_env_file=None, slack_webhook_url=hook.url))  # type: ignore[call-arg]
    assert isinstance(both, FanoutSink)
    assert [type(s) for s in both.sinks] == [LogSink, SlackWebhookSink]
    assert both.send(ALERT)
    assert len(hook.requests) == 1


def test_log_sink_levels_and_fanout_survives_a_broken_sink(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def send(self, alert: Alert) -> bool:
            raise RuntimeError("sink bug")

    memory = MemorySink()
    warning = Alert(kind="no_lines", title="no lines for 2024-02-01", severity="warning")
    with caplog.at_level(logging.WARNING, logger="nbaprops.ops.alerts"):
        assert FanoutSink([Broken(), LogSink(), memory]).send(ALERT)
        LogSink().send(warning)
    levels = [(r.levelno, r.getMessage().splitlines()[0]) for r in caplog.records if "nbaprops" in r.getMessage()]
    assert (logging.ERROR, "nbaprops ERROR gate_blocked: analytics for 2024-04-10 blocked by its gate") in levels
    assert (logging.WARNING, "nbaprops WARNING no_lines: no lines for 2024-02-01") in levels
    assert memory.alerts == [ALERT]
    assert any("sink bug" in r.getMessage() for r in caplog.records)


def test_alert_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        Alert("gate_blocked", "a title")  # type: ignore[misc]
    a = Alert(kind="no_lines", title="no lines for 2024-02-01", severity="warning",
              game_date=dt.date(2024, 2, 1))
    assert (a.kind, a.title, a.detail, a.severity, a.game_date) == (
        "no_lines", "no lines for 2024-02-01", "", "warning", dt.date(2024, 2, 1))
    assert a.as_dict() == {"kind": "no_lines", "title": "no lines for 2024-02-01", "detail": "",
                           "severity": "warning", "game_date": "2024-02-01"}
    assert a.text() == "nbaprops WARNING no_lines [2024-02-01]: no lines for 2024-02-01"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.title = "changed"  # type: ignore[misc]
