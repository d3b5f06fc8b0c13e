"""The docs the code cites exist, and docs/features.md documents every feature and context column."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nbaprops
from nbaprops.features.definitions import CONTEXT_COLUMNS, FEATURE_VERSIONS, FEATURES_V3
from nbaprops.models.systems import SYSTEMS

SRC = Path(nbaprops.__file__).resolve().parent
DOCS = SRC.parents[1] / "docs"

pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason="docs/ is not shipped with an installed package")


def test_cited_docs_exist_and_nothing_cites_an_outside_file() -> None:
    cited: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "REFERENCE_SYSTEM" not in text, path
        cited |= set(re.findall(r"docs/([\w-]+\.md)", text))
    assert {"features.md", "systems.md"} <= cited
    assert all((DOCS / name).is_file() for name in ("features.md", "systems.md"))


def test_features_doc_covers_every_feature_version_and_column() -> None:
    text = (DOCS / "features.md").read_text(encoding="utf-8")
    for name in (*FEATURE_VERSIONS, *FEATURES_V3, *CONTEXT_COLUMNS):
        assert f"`{name}`" in text, name
    # the tables number the features in store order (1-based, as the SQL arrays)
    for i, name in enumerate(FEATURES_V3, start=1):
        assert re.search(rf"^\| {i} \| `{name}` \|", text, flags=re.MULTILINE), (i, name)


def test_systems_doc_has_a_section_per_system() -> None:
    text = (DOCS / "systems.md").read_text(encoding="utf-8")
    for system_id in SYSTEMS:
        assert f"\n## {system_id}\n" in text, system_id
