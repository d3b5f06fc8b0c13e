"""The installed package version (one place; ``nbaprops.__version__`` re-exports it)."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("nbaprops")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
