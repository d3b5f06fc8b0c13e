"""Readiness of the served model set: it loads and its files match their SHA-256s (GET /ready, doctor)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from nbaprops.features.definitions import SERVED_FEATURE_VERSION
from nbaprops.models.registry import SERVED, load_model_set, served_model_set

__all__ = ["ModelProbe", "ServedModels"]

#: (path, SHA-256 of the content) of ``served.json`` and of every file of the served set
_Signature = tuple[tuple[str, str], ...]
#: Bytes read at a time while hashing.
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ServedModels:
    """The served model set as verified and loaded."""

    model_set: str
    feature_version: str
    trained_until: str | None
    model_versions: dict[str, str]


class ModelProbe:
    """Loads the served model set with full verification, re-loading it only when its content changes.

    Loading every model on each probe would make a readiness check cost a model load; instead every
    check hashes ``served.json`` and every file of the served set (a set is well under a few MB: the
    hashing costs milliseconds) and reuses the loaded result while those SHA-256s are unchanged.
    The cache is keyed by content, never by size or mtime: a flipped byte whose mtime was put back
    (``touch -r``) changes the hash, and the full verification against the manifest then fails.

    Args:
        model_dir: The model registry directory.
        feature_version: Feature version the models must be trained on.
    """

    def __init__(self, model_dir: Path, feature_version: str = SERVED_FEATURE_VERSION) -> None:
        self._model_dir = Path(model_dir)
        self._feature_version = feature_version
        self._lock = threading.Lock()
        self._cached: tuple[_Signature, ServedModels] | None = None

    def check(self) -> ServedModels:
        """Verify and load the served model set (or reuse an unchanged earlier verification).

        Returns:
            The served set and each system's model version.

        Raises:
            ModelError: No set is served, a file is missing or does not match its SHA-256, or the
                set was trained on another feature version.
        """
        with self._lock:
            name = served_model_set(self._model_dir)
            assert name is not None  # required=True raises instead
            signature = self._signature(name)
            if signature and self._cached and self._cached[0] == signature:
                return self._cached[1]
            self._cached = None
            loaded = load_model_set(self._model_dir, name, feature_version=self._feature_version)
            served = ServedModels(
                model_set=loaded.model_set,
                feature_version=loaded.feature_version,
                trained_until=(str(loaded.manifest["trained_until"]) if loaded.manifest.get("trained_until")
                               else None),
                model_versions={sid: loaded.model_version(sid) for sid in loaded.systems},
            )
            if signature:
                self._cached = (signature, served)
            return served

    def _signature(self, name: str) -> _Signature:
        """The content hash of every file that decides readiness (empty when one cannot be read)."""
        try:
            paths = [self._model_dir / SERVED, *sorted(p for p in (self._model_dir / name).rglob("*") if p.is_file())]
            return tuple((str(p), _sha256(p)) for p in paths)
        except OSError:
            return ()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
