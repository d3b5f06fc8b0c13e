"""Hand a CLI command to the ``nbaprops serve`` that owns the warehouse, and show its output.

``POST /jobs`` (with the ``X-API-Key`` of the settings) starts the command in the server; the client
polls ``GET /jobs/{id}`` until it ends, prints what it printed and exits with its exit code.
"""

from __future__ import annotations

import sys
import time

import httpx

from nbaprops.config import Settings
from nbaprops.errors import SettingsError, SourceError

__all__ = ["delegate"]


def delegate(argv: list[str], url: str, settings: Settings, *, poll_s: float = 0.5) -> int:
    """Run ``nbaprops ARGV`` in the server at ``url``; print its output here; return its exit code.

    Raises:
        SettingsError: no API key is set (the server only runs jobs for its key holder).
        SourceError: the server refused the job or stopped answering.
    """
    key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    if not key:
        raise SettingsError(f"the warehouse is served by `nbaprops serve` at {url}: set NBAPROPS_API_KEY "
                            "(the server's key) to run commands through it, or stop the server")
    headers = {"X-API-Key": key}
    print(f"nbaprops: the warehouse is served at {url}; running the command there", file=sys.stderr)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30.0) as client:
            res = client.post("/jobs", json={"argv": argv})
            if res.status_code != 202:
                raise SourceError(f"the server at {url} refused the command ({res.status_code}): "
                                  f"{res.json().get('detail', res.text) if res.content else ''}")
            job_url = f"/jobs/{res.json()['job_id']}"
            while True:
                body = client.get(job_url).json()
                if body.get("status") == "done":
                    break
                time.sleep(poll_s)
    except httpx.HTTPError as exc:
        raise SourceError(f"the server at {url} stopped answering: {type(exc).__name__}") from None
    sys.stdout.write(body.get("stdout") or "")
    sys.stderr.write(body.get("stderr") or "")
    return int(body.get("exit_code", 1))
