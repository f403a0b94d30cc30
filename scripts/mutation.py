"""Mutation testing of one layer with mutmut (``make mutation``; see docs/mutation.md).

mutmut reads its settings from ``[tool.mutmut]`` of the pyproject.toml in the folder it runs in,
so each layer runs in its own copy of the project under ``build/mutation/<layer>/`` with that
layer's source and test files (the model's tests would make every surviving scoring mutant cost
a whole market run). Results stay cached there between runs.

    python scripts/mutation.py scoring            # every scoring mutant
    python scripts/mutation.py model --sample 80  # a seeded random sample of the model's mutants
    python scripts/mutation.py scoring --report   # only print the score of the last run

Score = killed / (mutants - documented equivalent ones); a timeout or a crash counts as killed,
a mutant no selected test reaches counts as surviving.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "scoring": [
        "tests/test_scoring_rules.py", "tests/test_scoring_jss.py", "tests/test_scoring_badges.py",
        "tests/test_scoring_perk_flag_fees.py", "tests/test_scoring_history.py",
        "tests/test_scoring_boundaries.py", "tests/test_scoring_alternatives.py",
        "tests/test_scoring_jss_incremental.py", "tests/test_scoring_properties.py",
        "tests/test_scoring_history_readers.py",
    ],
    "model": [
        "tests/test_model_behaviour.py", "tests/test_model_choice.py", "tests/test_model_params.py",
        "tests/test_model_consistency.py", "tests/test_determinism.py", "tests/test_known_signs.py",
        "tests/test_model_forces.py", "tests/test_model_jss_engine.py",
        "tests/test_params_flag_thresholds.py",
    ],
}
COPY = ["marketplace", "tests", "docs", "examples", "experiments"]
EQUIVALENT = ROOT / "docs" / "mutation_equivalent.txt"
KILLED_CODES = {1, 2, 3, 24, 36, 152, -24, -11, -9}  # test failure, error, timeout, crash
TIMEOUT_CODES = {24, 36, 152, -24}  # mutmut's timeouts (SIGXCPU, wall clock)


def stage(layer: str) -> Path:
    """A copy of the project whose pyproject.toml points mutmut at ``layer`` and its tests."""
    work = ROOT / "build" / "mutation" / layer
    work.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        dst = work / name
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(ROOT / name, dst, ignore=shutil.ignore_patterns("__pycache__"))
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    lines = ["[tool.mutmut]"]
    settings = {**cfg, "only_mutate": [f"marketplace/{layer}/*"],
                "pytest_add_cli_args_test_selection": LAYERS[layer]}
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value)}")
    (work / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return work


def mutant_names(work: Path, layer: str) -> list[str]:
    names = []
    for meta in sorted((work / "mutants" / "marketplace" / layer).glob("*.py.meta")):
        names += list(json.loads(meta.read_text())["exit_code_by_key"])
    return names


def mutmut(work: Path, *args: str) -> int:
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.call(["nice", "-n", "10", str(exe), *args], cwd=work)


def report(work: Path, layer: str, selected: list[str] | None) -> None:
    codes: dict[str, int | None] = {}
    for meta in sorted((work / "mutants" / "marketplace" / layer).glob("*.py.meta")):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    if selected is not None:
        codes = {k: v for k, v in codes.items() if k in set(selected)}
    ran = {k: v for k, v in codes.items() if v is not None}
    equivalent = set()
    if EQUIVALENT.exists():
        equivalent = {ln.split()[0] for ln in EQUIVALENT.read_text().splitlines()
                      if ln.strip() and not ln.startswith("#")}
    killed = sorted(k for k, v in ran.items() if v in KILLED_CODES)
    no_tests = sorted(k for k, v in ran.items() if v == 33)
    survived = sorted(k for k, v in ran.items() if k not in killed and k not in no_tests)
    equiv = sorted(k for k in survived + no_tests if k in equivalent)
    alive = [k for k in survived + no_tests if k not in equivalent]
    denom = len(ran) - len(equiv)
    print(f"{layer}: {len(ran)} mutants run ({len(codes) - len(ran)} not run), "
          f"{len(killed)} killed, {len(survived)} survived, {len(no_tests)} reached by no test, "
          f"{len(equiv)} documented equivalent")
    if denom:
        print(f"{layer}: score = {len(killed)} / {denom} = {100 * len(killed) / denom:.1f}%")
    for k in alive:
        print("  alive:", k, "(no test)" if k in no_tests else "")
    timeouts = [k for k in killed if ran[k] in TIMEOUT_CODES]
    if timeouts:  # a survivor running every test on a loaded machine can hit the wall clock
        print(f"{layer}: {len(timeouts)} of the killed are timeouts; re-run each by hand (the "
              "mutant applied, the layer's tests): killed only if a test fails or hangs:")
    for k in timeouts:
        print("  timeout:", k)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("layer", choices=sorted(LAYERS))
    ap.add_argument("--sample", type=int, default=0, help="run a seeded sample of N mutants")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--report", action="store_true", help="print the last run's score only")
    ap.add_argument("names", nargs="*", help="mutant names or globs (default: the whole layer)")
    a = ap.parse_intermixed_args()
    work = ROOT / "build" / "mutation" / a.layer
    if a.report:
        sample_file = work / "sample.txt"
        sel = sample_file.read_text().split() if sample_file.exists() and a.sample else None
        report(work, a.layer, sel)
        return
    work = stage(a.layer)
    names = a.names or [f"marketplace.{a.layer}*"]
    selected = None
    if a.sample:
        if not mutant_names(work, a.layer):  # generate the mutants without running any
            mutmut(work, "run", "--max-children", str(a.jobs), "no-such-mutant")
        all_names = [n for n in mutant_names(work, a.layer)
                     if any(re.fullmatch(p.replace(".", r"\.").replace("*", ".*"), n)
                            for p in names)]
        selected = sorted(random.Random(a.seed).sample(all_names, min(a.sample, len(all_names))))
        (work / "sample.txt").write_text("\n".join(selected) + "\n")
        names = selected
    mutmut(work, "run", "--max-children", str(a.jobs), *names)
    report(work, a.layer, selected)


if __name__ == "__main__":
    main()
