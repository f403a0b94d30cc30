"""jss-market: an agent-based freelance marketplace for testing Upwork's Job Success Score.

Layers (each imports only the ones above it):
    marketplace.scoring   pure JSS rules, eras, badges (numpy/pandas, no Mesa)
    marketplace.model     the Mesa market model, its parameter schema and output tables
    marketplace.analysis  metrics, statistics, figures, reports (reads output tables only)
    marketplace.runner    experiment configs, sweeps, executors, results store
    marketplace.cli / app / results   command line, dashboard, loading results in notebooks
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jss-market")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
