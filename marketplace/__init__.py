"""jss-market: an agent-based freelance marketplace for testing Upwork's Job Success Score.

Layers (each imports only the ones above it):
    marketplace.scoring   pure JSS rules, eras, badges (numpy/pandas, no Mesa)
    marketplace.model     the Mesa market model, its parameter schema and output tables
    marketplace.analysis  metrics, statistics, figures, reports (reads output tables only)
    marketplace.runner    experiment configs, sweeps, executors, results store
    marketplace.cli / app / results   command line, dashboard, loading results in notebooks
"""

from typing import Any


def __getattr__(name: str) -> Any:
    """``marketplace.__version__``, read from the installed metadata on first use (importing
    importlib.metadata costs about 0.1 s of every command's start-up, ``--help`` included)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("jss-market")
        except PackageNotFoundError:  # running from a source tree without installation
            return "0.0.0+unknown"
    raise AttributeError(f"module 'marketplace' has no attribute {name!r}")
