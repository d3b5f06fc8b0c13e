"""The predictive distribution's family per market: the one place the per-market training reads.

Usage (what the per-market training does)::

    system = make_system("catboost", family=distribution_family(market))

The choice was measured on box scores only (``bench/market_distributions.py``, docs/markets.md
"Distributions per market"; no book line was read): a point-in-time mean of each stat (last-10 and
season-to-date averages of games strictly before the game, shrunk on 2022-23) with the
:class:`~nbaprops.models.systems.base.SpreadModel` fitted on 2022-23, every family scored on 2023-24
(26,396 player-games) by the log-loss of P(over) at the player's rounded average +/- 0.5, the
log-likelihood and the CRPS:

* ``negbin`` for rebounds, assists, threes and the four combos: it beats the normal on the line
  log-loss in every one of them (e.g. rebounds 0.6653 vs 0.6723, PRA 0.6874 vs 0.6914, threes
  0.5940 vs 0.6253), because these stats are right-skewed (the median is below the mean), which the
  normal misses: it over-predicts overs near the average by 4-9 points of probability.
* ``poisson`` for blocks, steals and turnovers: a negative binomial whose learned sd is floored at
  1.0 (``MIN_SCALE``) is far too wide for a stat of mean 0.5 (blocks 0.5706 vs Poisson 0.5452), and
  a negative binomial with a low floor only ties the Poisson (0.5449), which has no parameter to get
  wrong. Their P(over k + 0.5) is exactly P(X >= k + 1).
* ``auto`` for points: unchanged (normal or negbin by held-out log-likelihood, as before the
  markets), so the points models and their versions stay what they were.

Combos are modelled as the sum (the systems train on the summed target, e.g. PRA = pts + reb + ast):
summing the parts' means with the parts' spreads and their training-season correlation gives the
same mean and no clearly better distribution (PRA: log-likelihood -3.3757 sum vs -3.3835 parts,
line log-loss 0.6874 vs 0.6864), at three models and a correlation per combo instead of one model.

Adding a market means adding its family here; :func:`distribution_family` refuses a market it
does not know, and ``tests/unit/test_market_families.py`` holds this table equal to the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from nbaprops.errors import ModelError
from nbaprops.markets import MARKETS, Market, get_market

__all__ = ["DISTRIBUTION_FAMILIES", "SpreadFamily", "distribution_family"]

#: What a system's ``family`` parameter accepts (``'auto'``: normal or negbin by held-out fit).
SpreadFamily = Literal["auto", "normal", "negbin", "poisson"]

#: The measured family of each market, by short name (docs/markets.md "Distributions per market").
DISTRIBUTION_FAMILIES: Mapping[str, SpreadFamily] = MappingProxyType({
    "points": "auto",
    "rebounds": "negbin",
    "assists": "negbin",
    "threes": "negbin",
    "pra": "negbin",
    "pr": "negbin",
    "pa": "negbin",
    "ra": "negbin",
    "blocks": "poisson",
    "steals": "poisson",
    "turnovers": "poisson",
})


def distribution_family(market: Market | str) -> SpreadFamily:
    """The spread family the systems of ``market`` are built with (their ``family`` parameter).

    Args:
        market: A :class:`~nbaprops.markets.Market`, or its key or short name.

    Returns:
        ``'auto'``, ``'normal'``, ``'negbin'`` or ``'poisson'``; a count-like market always gets a
        count family (``'negbin'`` or ``'poisson'``).

    Raises:
        InputError: An unknown market key or name.
        ModelError: A market of the registry without a measured family (add it to
            :data:`DISTRIBUTION_FAMILIES`).
    """
    m = get_market(market) if isinstance(market, str) else market
    try:
        return DISTRIBUTION_FAMILIES[m.name]
    except KeyError:
        raise ModelError(f"market {m.name!r} has no distribution family: measure it with "
                         "bench/market_distributions.py and add it to DISTRIBUTION_FAMILIES") from None


def _check() -> None:
    for m in MARKETS:
        family = DISTRIBUTION_FAMILIES.get(m.name)
        if family is not None and m.count_like and family not in ("negbin", "poisson"):
            raise ValueError(f"market {m.name} is count-like but its family is {family!r}")


_check()
