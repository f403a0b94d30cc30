"""The `marketplace` command line. Each command is a thin shell over a layer's public function.

Exit codes: 0 success, 1 a run or test failed, 2 bad input (config, CSV, parameter).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="jss-market: simulate a freelance marketplace and test the Job Success Score.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Simulate a freelance marketplace and test what its Job Success Score says."""


# Commands are added below by each layer's owner:
#   jss       -> marketplace.scoring (score a contract history CSV)
#   run, validate, list, report -> marketplace.runner / marketplace.analysis
#   viz       -> marketplace.app (SolaraViz dashboard)

from marketplace.runner.commands import register as _register_runner_commands  # noqa: E402

_register_runner_commands(app)  # run, validate, list, report

if __name__ == "__main__":  # pragma: no cover
    app()
