"""Operations: health checks (``checks``), alerts, ``doctor``, post-run ``verify``, monitoring views and
remediation of stored rows."""
