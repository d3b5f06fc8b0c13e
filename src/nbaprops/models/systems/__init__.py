"""Prediction systems and their registry.

Example::

    system = make_system("catboost", thread_count=2).fit(X_train, y_train)
    p_over = system.predict_distribution(X_today).p_over(lines)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbaprops.errors import ModelError
from nbaprops.models.systems.base import PointsDistribution, PointsSystem, SpreadModel, read_params_file
from nbaprops.models.systems.boosted import BoostedTreeSystem
from nbaprops.models.systems.catboost_system import CatBoostSystem
from nbaprops.models.systems.discrete import DiscretePointsDistribution
from nbaprops.models.systems.ensemble import EnsembleSystem
from nbaprops.models.systems.families import DISTRIBUTION_FAMILIES, SpreadFamily, distribution_family
from nbaprops.models.systems.minutes_ppm import MinutesPpmSystem
from nbaprops.models.systems.moving_average import MovingAverageSystem
from nbaprops.models.systems.similarity import SimilaritySystem
from nbaprops.models.systems.xgboost_system import XGBoostSystem
from nbaprops.models.systems.zone_matchup import ZoneMatchupSystem

__all__ = [
    "DISTRIBUTION_FAMILIES",
    "SYSTEMS",
    "BoostedTreeSystem",
    "CatBoostSystem",
    "DiscretePointsDistribution",
    "EnsembleSystem",
    "MinutesPpmSystem",
    "MovingAverageSystem",
    "PointsDistribution",
    "PointsSystem",
    "SimilaritySystem",
    "SpreadFamily",
    "SpreadModel",
    "XGBoostSystem",
    "ZoneMatchupSystem",
    "distribution_family",
    "load_system",
    "make_system",
]

SYSTEMS: dict[str, type[PointsSystem]] = {
    cls.system_id: cls
    for cls in (MovingAverageSystem, ZoneMatchupSystem, SimilaritySystem, XGBoostSystem, CatBoostSystem,
                MinutesPpmSystem, EnsembleSystem)
}


def make_system(system_id: str, **params: Any) -> PointsSystem:
    """Create an unfitted system by id.

    Args:
        system_id: One of :data:`SYSTEMS`.
        **params: Constructor parameters.

    Returns:
        The new system.

    Raises:
        ModelError: If the id is unknown.
    """
    try:
        cls = SYSTEMS[system_id]
    except KeyError:
        raise ModelError(f"unknown system {system_id!r}; known: {sorted(SYSTEMS)}") from None
    return cls(**params)


def load_system(directory: str | Path) -> PointsSystem:
    """Load any saved system, dispatching on the ``system_id`` in its ``params.json``.

    Args:
        directory: Directory written by :meth:`PointsSystem.save`.

    Returns:
        The fitted system.
    """
    system_id = str(read_params_file(directory).get("system_id"))
    if system_id not in SYSTEMS:
        raise ModelError(f"{directory} holds unknown system {system_id!r}")
    return SYSTEMS[system_id].load(directory)
