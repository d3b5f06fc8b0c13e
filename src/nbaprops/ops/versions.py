"""What is installed and served: package, schema and feature versions, the served model set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbaprops.config import Settings

__all__ = ["versions"]


def versions(settings: Settings | None = None) -> dict[str, Any]:
    """Package, schema and feature versions, plus the served model set and each system's model version.

    ``model_versions`` are exactly what a prediction row's ``model_version`` holds
    (``<model set>:<system model version>``). Reads the manifest only (no model load).

    Args:
        settings: where the model registry is; None reports no model information.

    Returns:
        ``{"package", "schema", "feature_versions", "feature_version", "model_set",
        "model_feature_version", "model_versions"}`` (+ ``"model_error"`` when the registry is unusable).
    """
    from nbaprops._version import __version__
    from nbaprops.errors import ModelError
    from nbaprops.features.definitions import FEATURE_VERSION, FEATURE_VERSIONS
    from nbaprops.models.registry import read_manifest, served_model_set
    from nbaprops.warehouse import SCHEMA_VERSION

    info: dict[str, Any] = {"package": __version__, "schema": SCHEMA_VERSION,
                            "feature_versions": sorted(FEATURE_VERSIONS), "feature_version": FEATURE_VERSION,
                            "model_set": None, "model_feature_version": None, "model_versions": {}}
    if settings is None:
        return info
    try:
        model_set = served_model_set(settings.model_path, required=False)
        if model_set is not None:
            manifest = read_manifest(settings.model_path, model_set)
            info["model_set"] = model_set
            info["model_feature_version"] = manifest.get("feature_version")
            info["model_versions"] = {sid: f"{model_set}:{v}" for sid, v in
                                      dict(manifest.get("model_versions", {})).items()}
    except ModelError as exc:
        info["model_error"] = str(exc)
    return info
