"""Alerts: a small :class:`AlertSink` port with a log sink and a Slack incoming-webhook sink.

An alert must never break the pipeline it reports on: :meth:`AlertSink.send` returns whether the
alert was delivered and never raises. The webhook URL is a secret (the token is in its path), so it
is masked in every log record, including httpx's own request log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import httpx
import stamina
from pydantic import SecretStr

from nbaprops.config import Settings
from nbaprops.errors import TransientUpstreamError
from nbaprops.ingest.sources.base import MASK

__all__ = ["Alert", "AlertSink", "FanoutSink", "LogSink", "MemorySink", "SlackWebhookSink", "make_sink",
           "send_all"]

log = logging.getLogger(__name__)

Severity = Literal["warning", "error"]


@dataclass(frozen=True, kw_only=True)
class Alert:
    """Something an operator must look at: the one alert type of nbaprops.

    Fired by the pipeline and the post-run checks (sent to an :class:`AlertSink`) and computed from
    the warehouse by the dashboard's pipeline page. Keyword arguments only, e.g.
    ``Alert(kind="no_lines", title="no lines for 2024-02-01", severity="warning", game_date=d)``.

    Attributes:
        kind: a stable machine key, e.g. ``gate_blocked``, ``model_fallback``, ``grading_coverage``.
        title: one line for a person.
        detail: what is wrong and what to do.
        severity: ``error`` (a phase did not do its job) or ``warning``.
        game_date: the date concerned, if any.
        created_at: when the alert was made (UTC).
    """

    kind: str
    title: str
    detail: str = ""
    severity: Severity = "error"
    game_date: dt.date | None = None
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def text(self) -> str:
        """The alert as plain text (Slack ``text``, log message)."""
        when = f" [{self.game_date}]" if self.game_date else ""
        head = f"nbaprops {self.severity.upper()} {self.kind}{when}: {self.title}"
        return f"{head}\n{self.detail}" if self.detail else head

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {"kind": self.kind, "title": self.title, "detail": self.detail, "severity": self.severity,
                "game_date": str(self.game_date) if self.game_date else None}


@runtime_checkable
class AlertSink(Protocol):
    """Where alerts go. ``send`` returns True when delivered and never raises."""

    def send(self, alert: Alert) -> bool:
        """Deliver one alert."""
        ...


class LogSink:
    """Alerts as log records (``nbaprops.ops.alerts`` logger): errors as ERROR, warnings as WARNING."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        """Args:
            logger: the logger to write to (default: this module's).
        """
        self._log = logger or log

    def send(self, alert: Alert) -> bool:
        """Log the alert; always delivered."""
        self._log.log(logging.ERROR if alert.severity == "error" else logging.WARNING, "%s", alert.text())
        return True


class MemorySink:
    """Keeps alerts in a list (tests, and ``--json`` reports of what fired)."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> bool:
        """Remember the alert."""
        self.alerts.append(alert)
        return True


class _MaskFilter(logging.Filter):
    """Masks one secret string in every record of a logger (httpx logs each request URL)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        if self._secret and self._secret in message:
            record.msg, record.args = message.replace(self._secret, MASK), None
        return True


_MASKED: set[str] = set()


def _install_mask(secret: str) -> None:
    """Mask ``secret`` in httpx/httpcore log records (once per secret per process)."""
    if not secret or secret in _MASKED:
        return
    _MASKED.add(secret)
    filt = _MaskFilter(secret)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).addFilter(filt)


class SlackWebhookSink:
    """Posts ``{"text": ...}`` to a Slack incoming webhook, retried on transient failures.

    A short per-request timeout and a small retry budget keep a dead webhook from stalling the
    pipeline; every failure is logged (with the URL masked) and reported as ``False``.
    """

    def __init__(self, url: SecretStr | str, *, timeout_s: float = 5.0, attempts: int = 3,
                 wait_initial_s: float = 0.5, wait_max_s: float = 4.0, client: httpx.Client | None = None) -> None:
        """Args:
            url: the webhook URL (a secret: never logged).
            timeout_s: per-request timeout.
            attempts: maximum attempts per alert (transport errors, 429 and 5xx are retried).
            wait_initial_s: first backoff wait (exponential with jitter up to ``wait_max_s``).
            wait_max_s: maximum backoff wait.
            client: an ``httpx.Client`` to use (default: a new one per send).
        """
        self._url = url.get_secret_value() if isinstance(url, SecretStr) else str(url)
        self._timeout_s = timeout_s
        self._attempts = max(1, attempts)
        self._wait_initial_s = wait_initial_s
        self._wait_max_s = wait_max_s
        self._client = client
        _install_mask(self._url)

    @staticmethod
    def payload(alert: Alert) -> dict[str, Any]:
        """The JSON body posted for an alert."""
        return {"text": alert.text()}

    def send(self, alert: Alert) -> bool:
        """Post the alert; True when the webhook answered 2xx. Never raises."""
        body = self.payload(alert)
        try:
            for attempt in stamina.retry_context(on=TransientUpstreamError, attempts=self._attempts, timeout=None,
                                                 wait_initial=self._wait_initial_s, wait_max=self._wait_max_s):
                with attempt:
                    self._post(body)
        except Exception as exc:  # an alert must never break the pipeline it reports on
            log.warning("alert %s was not delivered to Slack: %s", alert.kind, self._mask(str(exc)))
            return False
        return True

    def _mask(self, text: str) -> str:
        return text.replace(self._url, MASK) if self._url else text

    def _post(self, body: dict[str, Any]) -> None:
        client = self._client or httpx.Client(timeout=self._timeout_s)
        failure: str | None = None
        try:
            response = client.post(self._url, json=body, timeout=self._timeout_s)
        except httpx.TransportError as exc:
            failure = f"{type(exc).__name__}: {self._mask(str(exc))}"
            response = None
        finally:
            if self._client is None:
                client.close()
        if response is None:
            # raised outside the except block so the httpx exception (with the URL) is not chained
            log.info("Slack webhook: %s, will retry", failure)
            raise TransientUpstreamError(failure)
        if response.status_code == 429 or response.status_code >= 500:
            log.info("Slack webhook answered HTTP %d, will retry", response.status_code)
            raise TransientUpstreamError(f"HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"HTTP {response.status_code}: {self._mask(response.text[:200])}")


class FanoutSink:
    """Sends every alert to several sinks; delivered when at least one delivered it."""

    def __init__(self, sinks: Iterable[AlertSink]) -> None:
        self.sinks = list(sinks)

    def send(self, alert: Alert) -> bool:
        """Send to every sink (a failing sink does not stop the others)."""
        delivered = False
        for sink in self.sinks:
            try:
                delivered = sink.send(alert) or delivered
            except Exception as exc:  # a third-party sink that breaks the contract
                log.warning("alert sink %s raised: %s", type(sink).__name__, exc)
        return delivered


def make_sink(settings: Settings) -> AlertSink:
    """The configured sink: always the log, plus Slack when ``NBAPROPS_SLACK_WEBHOOK_URL`` is set."""
    url = settings.slack_webhook_url
    if url is not None and url.get_secret_value().strip():
        return FanoutSink([LogSink(), SlackWebhookSink(url, timeout_s=min(5.0, settings.http_timeout_s))])
    return LogSink()


def send_all(sink: AlertSink, alerts: Iterable[Alert]) -> list[Alert]:
    """Send alerts one by one; returns them (for reports)."""
    sent = []
    for a in alerts:
        sink.send(a)
        sent.append(a)
    return sent
