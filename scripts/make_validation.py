"""Generate docs/VALIDATION.md from marketplace/analysis/facts.yaml and a results folder.

    python scripts/make_validation.py                       # results/threshold_validity
    python scripts/make_validation.py results/x --out /tmp/V.md
    python scripts/make_validation.py --check               # exit 1 if the committed file is stale

Exit codes: 0 written (or up to date), 1 --check found it stale, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_RESULTS = ROOT / "results" / "threshold_validity"
DEFAULT_OUT = ROOT / "docs" / "VALIDATION.md"


def build(results_dir: Path) -> str:
    from marketplace.analysis.facts import validation_markdown
    from marketplace.runner.facts_commands import load_results_facts

    table, n_runs = load_results_facts(results_dir)
    manifest = json.loads((results_dir / "manifest.json").read_text())
    model = (manifest.get("config") or {}).get("model") or {}
    git = manifest.get("git") or {}
    info = (f"{n_runs} runs, {model.get('n_freelancers', '?'):,} freelancers, "
            f"{model.get('weeks', '?')} weeks ({model.get('burn_in_weeks', '?')} of burn-in), "
            f"{model.get('rules', 'default')} rules"
            + (f", commit {str(git.get('commit'))[:10]}" if git.get("commit") else ""))
    try:
        name = results_dir.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        name = results_dir.as_posix()
    return validation_markdown(table, results_name=name, run_info=info,
                               command="scripts/make_validation.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when --out differs from what would be written")
    args = parser.parse_args(argv)
    try:
        text = build(args.results)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.out.read_text() if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date: run python scripts/make_validation.py",
                  file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
