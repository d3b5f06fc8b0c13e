"""REST API (FastAPI): health, readiness, starting prediction batches, batches and predictions, plus the
server-rendered dashboard (``/slate``, ``/performance``, ``/pipeline``; see :mod:`nbaprops.api.dashboard`).

Example::

    from nbaprops.api import create_app, serve
    serve(load_settings(), host="127.0.0.1", port=8000)
"""

from nbaprops.api.app import create_app, serve

__all__ = ["create_app", "serve"]
