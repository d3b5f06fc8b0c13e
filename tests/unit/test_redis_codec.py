"""The Redis backend's message codec and configuration, without a broker.

A unit and a result survive the trip through stream fields exactly (parquet, no pickle); the
module imports without the ``redis`` package; configuration errors are one clear message.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nbaprops.errors import NbapropsError
from nbaprops.predict.queue import InlineQueue, ProcessPoolQueue
from nbaprops.predict.queues import make_queue
from nbaprops.predict.redis_queue import (
    RedisStreamQueue,
    decode_result,
    decode_unit,
    encode_result,
    encode_unit,
    redacted,
)
from nbaprops.predict.worker import UnitResult, WorkUnit, run_unit


def _as_read(fields: dict[object, object]) -> dict[bytes, bytes]:
    """Fields as a binary redis client reads them back."""
    return {str(k).encode(): v if isinstance(v, bytes) else str(v).encode() for k, v in fields.items()}


def _unit() -> WorkUnit:
    rows = pd.DataFrame({
        "game_id": ["0022301190", "0022301190"], "player_id": np.array([1, 2], dtype="int64"),
        "game_date": pd.to_datetime(["2024-04-10", "2024-04-10"]), "line": [20.5, np.nan],
        "quoted_at": pd.to_datetime(["2024-04-10T22:00:00Z", None], utc=True), "sportsbook": ["draftkings", None],
    })
    history = pd.DataFrame({"player_id": [1], "game_date": pd.to_datetime(["2024-04-08"]), "pts": [31.0]})
    return WorkUnit("b-x", 7, rows, history, "/srv/models", "ms-1", None, "/coord/staging", 1.0, 0.02, ("xgboost",))


def test_a_unit_survives_the_stream_exactly() -> None:
    unit = _unit()
    fields = encode_unit(run_unit, unit, "nbaprops:results:abc", "f" * 64)
    assert not any(isinstance(v, bytes) and v.startswith(b"\x80") for v in fields.values()), "no pickle"
    back, reply_to, meta = decode_unit(_as_read(fields), "/worker/tmp")
    assert reply_to == "nbaprops:results:abc"
    assert meta["manifest_sha256"] == "f" * 64 and meta["players"] == [1, 2]
    pd.testing.assert_frame_equal(back.rows, unit.rows, check_exact=True)
    pd.testing.assert_frame_equal(back.history, unit.history, check_exact=True)
    assert (back.batch_id, back.unit_id, back.model_set, back.fail_systems) == ("b-x", 7, "ms-1", ("xgboost",))
    assert back.staging_dir == "/worker/tmp"      # a worker stages locally; the coordinator writes the file


def test_only_run_unit_crosses_the_broker() -> None:
    with pytest.raises(TypeError, match="only runs"):
        encode_unit(print, _unit(), "r", None)


def test_a_result_survives_the_stream() -> None:
    res = UnitResult(3, "/tmp/x.parquet", [1, 2], 12, [(2, "similarity", "not enough history")],
                     {"xgboost": "RuntimeError: boom"}, None)
    batch, back, payload, worker = decode_result(_as_read(encode_result(res, "b-x", b"PAR1...", "host:1:ab")))
    assert (batch, payload, worker) == ("b-x", b"PAR1...", "host:1:ab")
    assert back.path is None and (back.unit_id, back.players, back.rows) == (3, [1, 2], 12)
    assert back.skips == res.skips and back.system_failures == res.system_failures
    failed = UnitResult(4, None, [5], 0, error="ModelError: gone")
    _, back, payload, _ = decode_result(_as_read(encode_result(failed, "b-x", None, "w")))
    assert payload is None and back.error == "ModelError: gone"
    assert json.loads(encode_result(failed, "b-x", None, "w")["meta"])["has_rows"] is False


def test_queue_configuration_errors_are_one_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBAPROPS_REDIS_URL", raising=False)
    with pytest.raises(NbapropsError, match="--redis-url or NBAPROPS_REDIS_URL"):
        make_queue(1, "redis")
    monkeypatch.setenv("NBAPROPS_REDIS_STALL_S", "soon")
    with pytest.raises(NbapropsError, match="NBAPROPS_REDIS_STALL_S"):
        RedisStreamQueue.from_env("redis://127.0.0.1:1/0")
    with pytest.raises(NbapropsError, match="unknown queue backend"):
        make_queue(1, "kafka")
    assert isinstance(make_queue(1), InlineQueue) and isinstance(make_queue(4, "inline"), InlineQueue)
    q = make_queue(2, "process")
    assert isinstance(q, ProcessPoolQueue)
    q.close()


def test_an_unreachable_broker_is_one_clear_message() -> None:
    pytest.importorskip("redis")
    with pytest.raises(NbapropsError, match="cannot reach the Redis broker at redis://\\*\\*\\*@127.0.0.1:1/0"):
        RedisStreamQueue("redis://:secret@127.0.0.1:1/0")


def test_passwords_are_redacted() -> None:
    assert redacted("redis://:pw@host:6379/0") == "redis://***@host:6379/0"
    assert redacted("redis://host:6379/0") == "redis://host:6379/0"
