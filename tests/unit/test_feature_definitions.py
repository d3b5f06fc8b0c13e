"""The served feature version is defined once (features/definitions.py) and imported everywhere."""

from __future__ import annotations

import re
from pathlib import Path

from nbaprops.features import definitions, reader
from nbaprops.features.definitions import (
    FEATURE_VERSION,
    FEATURE_VERSIONS,
    FEATURES_V2,
    SERVED_FEATURE_VERSION,
)

SRC = Path(definitions.__file__).resolve().parents[1]


def test_served_version_is_a_known_version_of_the_v2_features() -> None:
    assert SERVED_FEATURE_VERSION in FEATURE_VERSIONS
    assert FEATURE_VERSIONS[SERVED_FEATURE_VERSION] == FEATURES_V2
    assert FEATURE_VERSION == SERVED_FEATURE_VERSION
    assert reader.FEATURE_VERSION is SERVED_FEATURE_VERSION


def test_served_version_literal_appears_only_at_its_definition() -> None:
    literal = re.compile(rf"[\"']{re.escape(SERVED_FEATURE_VERSION)}[\"']")
    offenders = sorted(
        str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
        if path != Path(definitions.__file__).resolve() and literal.search(path.read_text(encoding="utf-8"))
    )
    assert offenders == []
    assert literal.search(Path(definitions.__file__).read_text(encoding="utf-8"))
