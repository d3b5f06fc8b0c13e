"""nbaprops: point-in-time NBA player points predictions against real sportsbook lines."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nbaprops")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
