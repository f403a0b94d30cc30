"""Execute the notebooks in place on the committed results, saving their outputs (make notebooks).

So that figures show when a notebook is opened on a code host. A canonical experiment's notebook
runs only when its results folder (the `results_dir` of its parameters cell, relative to
notebooks/) holds a `manifest.json`; otherwise it is left without outputs and listed as skipped.
Outputs are made reproducible: cells numbered 1, 2, ... in order, no execution timestamps or
timing metadata, and a notebook whose cells fail is not written.

    .venv/bin/python scripts/execute_notebooks.py                          # every notebook
    .venv/bin/python scripts/execute_notebooks.py notebooks/01_threshold_validity.ipynb
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"
TIMEOUT_S = 1800


def parameters(nb: nbformat.NotebookNode) -> dict[str, object]:
    """The literal assignments of the cell tagged "parameters" (papermill's convention)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            values = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                        node.targets[0], ast.Name):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
            return values
    return {}


def missing_results(nb: nbformat.NotebookNode) -> Path | None:
    """The notebook's default results folder when it has no results yet, else None."""
    results_dir = parameters(nb).get("results_dir")
    if not isinstance(results_dir, str):
        return None
    folder = (NOTEBOOKS / results_dir).resolve()
    return None if (folder / "manifest.json").is_file() else folder


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes from one execution to the next (timestamps, timings, papermill data)."""
    for cell in nb.cells:
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    for key in ("papermill", "widgets"):
        nb.metadata.pop(key, None)
    info = nb.metadata.get("language_info", {})
    nb.metadata["language_info"] = {k: info[k] for k in ("name", "version") if k in info}
    return nb


def clear_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return clean(nb)


def execute(nb: nbformat.NotebookNode, cwd: Path = NOTEBOOKS,
            timeout: int = TIMEOUT_S) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel started in `cwd`; raises CellExecutionError on a failing
    cell."""
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return clean(nb)


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    """Validate, then write through a temporary file so a notebook is never half-written."""
    nbformat.validate(nb)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to execute (default: every notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    os.environ.setdefault("MPLBACKEND", "Agg")  # headless; the notebooks use the inline backend
    failed, skipped = [], []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        missing = missing_results(nb)
        if missing is not None:
            write(clear_outputs(nb), path)
            skipped.append(path.name)
            print(f"skipped  {path.name}: no results at {os.path.relpath(missing, ROOT)}/ yet")
            continue
        try:
            execute(nb)
        except CellExecutionError as err:
            failed.append(path.name)
            print(f"FAILED   {path.name} (not written):\n{err}", file=sys.stderr)
            continue
        write(nb, path)
        print(f"executed {path.name}")
    print(f"{len(paths) - len(failed) - len(skipped)} executed, {len(skipped)} skipped "
          f"(no results), {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
