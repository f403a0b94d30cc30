"""Write the cells of the notebooks under notebooks/ (the source of their text and code).

Edit the cells here, then `make notebooks` (this script, then scripts/execute_notebooks.py, which
runs each notebook on the committed results and saves its outputs). `tests/test_notebooks.py`
checks that the committed notebooks hold exactly these cells. Cells are plain: statistics and
figures come from the package (`marketplace.results`, `marketplace.analysis`), never from here.

    .venv/bin/python scripts/make_notebooks.py            # (re)write every notebook, no outputs
    .venv/bin/python scripts/make_notebooks.py --check    # exit 1 if a notebook's cells differ
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (jss-market)", "language": "python"}


@dataclass(frozen=True)
class Experiment:
    """A canonical experiment's notebook: the question, the forum voice behind it, its numbers."""

    number: int
    name: str
    title: str
    question: str
    quote: str
    key_metrics: tuple[str, ...]
    issue: int = 5

    @property
    def filename(self) -> str:
        return f"{self.number:02d}_{self.name}.ipynb"


EXPERIMENTS = (
    Experiment(
        1, "threshold_validity", "Is JSS 90 a real line in quality?",
        "Clients filter on JSS >= 90 and Top Rated requires it. Under the default calibration, "
        "are freelancers just above 90 really better than those just below, how well does the "
        "score rank freelancers by their hidden true quality, and what does a 90 filter find "
        "and miss?",
        "It is interesting that Upwork has never provided any evidence to either freelancers or "
        "clients that freelancers with a JSS of 89 or lower provide significantly different "
        "quality work than freelancers with a JSS of 90 or above.",
        ("spearman_jss_quality", "quality_gap_90", "quality_gap_90_d", "p_above_beats_below_90",
         "rd_jump_90", "auc_top_quartile", "precision_90", "recall_90",
         "excluded_good_share_90"),
    ),
    Experiment(
        2, "dishonest_raters", "Dishonest, lenient and harsh raters",
        "Clients who misstate a job, rate everyone 5 stars or are never satisfied put noise into "
        "the score. As their shares grow, how much does JSS still say about true quality, and how "
        "far do public stars drift from what clients privately think?",
        "I am overwhelmingly frustrated by my JSS that just plummeted from a 90% to a 79%. Even "
        "AFTER I got a 5star review from a client who lied about the entire job posting, "
        "including how long it was supposed to last.",
        ("spearman_jss_quality", "auc_top_quartile", "quality_gap_90", "rd_jump_90",
         "share_jss_ge_90", "mean_public_stars", "share_five_star",
         "share_pos_public_given_private_dissatisfied"),
    ),
    Experiment(
        3, "refund_chasing", "Chasing the score with refunds and unpaid work",
        "Some freelancers protect their score by refunding difficult clients or doing unpaid "
        "extra work. As the share of such chasers grows, do scores bunch just above 90 and at "
        "100, how much money is refunded and how many platform fees are lost, and does the score "
        "still tell good freelancers from the rest?",
        "The pursuit of a 100 JSS distorts too much of what too many freelancers do, including "
        "providing complete refunds to difficult clients or doing substantially more work than "
        "the client has paid for in order to keep them happy.",
        ("density_test_p_90", "share_jss_ge_90", "share_jss_100", "refunds_usd",
         "fees_lost_to_refunds_usd", "spearman_jss_quality", "auc_top_quartile", "rd_jump_90"),
    ),
    Experiment(
        4, "newcomer_volatility", "One bad client and a short history",
        "How far does one negative outcome pull a JSS down, by length of history; how long do "
        "newcomers wait for a first job; and how many good freelancers does a 90 filter hide "
        "because they have no JSS yet?",
        "This is not fair to freelancers who are still trying to get their momentum going and "
        "make a name for themsevles [sic] on the platform.",
        ("jss_drop_after_one_negative", "jss_drop_after_one_negative_2_4",
         "jss_drop_after_one_negative_5_9", "jss_drop_after_one_negative_10_19",
         "jss_drop_after_one_negative_20plus", "first_hire_weeks_median",
         "newcomer_never_hired_share", "share_with_jss", "excluded_good_share_90_incl_no_jss"),
    ),
    Experiment(
        5, "rule_eras", "Rule eras and the feedback-removal perk",
        "Upwork changed the JSS rules several times (rule sets `upwork-2015`, `upwork-2020`, "
        "`upwork-2023`, `upwork-2024`, each rule with its source in docs/ODD.md 7.1), and Top "
        "Rated freelancers may remove some feedback. Does the score track quality better or worse "
        "under each era's rules, with the removal perk on and off?",
        "I can't have the feedback removed because I am not a top rated plus yet, which makes "
        "this all the more frustrating.",
        ("spearman_jss_quality", "auc_top_quartile", "rd_jump_90", "quality_gap_90",
         "share_jss_ge_90", "share_jss_100", "share_top_rated", "jss_drop_after_one_negative"),
    ),
    Experiment(
        6, "client_filters", "What a minimum-JSS filter gets clients",
        "Clients cut a pile of proposals with a minimum JSS. When clients filter at none, 80, 90 "
        "or 95, what true quality do they actually hire, how many proposals do they read per "
        "hire, and how many newcomers are shut out?",
        "The primary purpose of the JSS is to provide clients a way to cut down on the large "
        "number of proposals they receive on their projects. By selecting a minimum JSS they are "
        "willing to accept, clients can easily ignore all proposals from freelancers whose JSS "
        "ratings are lower than that minimum number.",
        ("mean_quality_hired", "proposals_read_per_hire", "hire_rate",
         "newcomer_never_hired_share", "first_hire_weeks_median",
         "excluded_good_share_90_incl_no_jss", "gini_jobs", "spearman_quality_jobs"),
    ),
    Experiment(
        7, "client_choice", "How much clients lean on the score, and prices that follow it",
        "Following Lukac & Grow (2020, Journal of Computational Social Science 4:207-229): how "
        "strongly clients weigh the public score against price (by job value), how much of a "
        "freelancer's true quality they see for themselves, and whether asking prices follow "
        "quality or reputation. How unequal does the market become against the floor that random "
        "hiring gives, does the work go to the better freelancers, and what do clients read and "
        "get?",
        "... the opaque JSS calculation has little real meaning other than being a marketing "
        "tool that allows clients to decrease their workload finding the right freelancer ...",
        ("gini_jobs", "random_allocation_gini_jobs", "gini_earnings", "top10_earnings_share",
         "never_hired_share", "newcomer_never_hired_share", "spearman_quality_jobs",
         "mean_quality_hired", "proposals_read_per_hire"),
        issue=8,
    ),
    Experiment(
        9, "policy_alternatives", "Would another score tell better freelancers apart?",
        "The market runs on the JSS or on an alternative score (a Bayesian shrunk success share, "
        "the Wilson lower bound, EPP where silence counts, a rater-debiased share, or the lower "
        "end of a JSS interval), with and without two-sided reputation. Which score ranks true "
        "quality best, and what does each cost clients, newcomers, the spread of work, the "
        "volatility after one lying client, and the platform's fees? Metrics ending in `_market` "
        "belong to the score the market ran on; `_<score>` ones score the same histories again "
        "with every alternative.",
        "It is interesting that Upwork has never provided any evidence to either freelancers or "
        "clients that freelancers with a JSS of 89 or lower provide significantly different "
        "quality work than freelancers with a JSS of 90 or above.",
        ("spearman_quality_market", "auc_top_quartile_market", "p_above_beats_below_market",
         "mean_quality_hired", "newcomer_never_hired_share", "newcomers_admitted_market",
         "gini_jobs", "drop_one_liar_market", "volatility_market", "platform_fees_usd"),
        issue=14,
    ),
)


def _finish(cells: list, slug: str) -> nbformat.NotebookNode:
    """A notebook with stable cell ids (nbformat would draw random ones) and our kernel."""
    for i, cell in enumerate(cells):
        cell["id"] = f"{slug}-{i:02d}"
    nb = new_notebook(cells=cells)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return nb


def experiment_notebook(e: Experiment) -> nbformat.NotebookNode:
    metrics = "".join(f'    "{m}",\n' for m in e.key_metrics)
    cells = [
        new_markdown_cell(
            f"# {e.title}\n\n"
            f"**Question** (issue {e.issue}, experiment `{e.name}`): {e.question}\n\n"
            f"> {e.quote}\n>\n> (Upwork community forum, thread \"The failure of JSS\")\n\n"
            f"This notebook only reads stored results: every number comes from "
            f"`results/{e.name}/aggregate.parquet` (mean over replications with a 95% bootstrap "
            f"confidence interval) and every figure from the plotting functions that "
            f"`marketplace report` uses. The written report is "
            f"[`results/{e.name}/report.md`](../results/{e.name}/report.md). To regenerate the "
            f"results: `marketplace run experiments/{e.name}.yaml`."
        ),
        new_code_cell(
            f'results_dir = "../results/{e.name}"  # any results folder (papermill parameter)',
            metadata={"tags": ["parameters"]},
        ),
        new_code_cell(
            "%matplotlib inline\n"
            "from IPython.display import Markdown, display\n\n"
            "from marketplace import results\n\n"
            "res = results.load(results.resolve_path(results_dir))\n"
            "display(Markdown(res.describe()))"
        ),
        new_markdown_cell(
            "## Key numbers\n\n"
            "Mean over replications [95% bootstrap confidence interval], one row per combination "
            "of the swept parameters; n/a = not computable in any run (the report's Caveats say "
            "why)."
        ),
        new_code_cell(f"key_metrics = [\n{metrics}]\nres.key_numbers(key_metrics)"),
        new_code_cell("display(Markdown(results.metric_glossary(key_metrics)))"),
        new_markdown_cell(
            "## Figures\n\n"
            "Every figure of the report, rebuilt from the stored tables by "
            "`marketplace.analysis.report.experiment_figures` (the code behind "
            "`marketplace report`), with its caption."
        ),
        new_code_cell(
            "for stem, (caption, figure) in res.figures().items():\n"
            '    display(Markdown(f"**{stem}**: {caption}"), figure)'
        ),
        new_markdown_cell(
            "## Going further\n\n"
            "- `res.summary`: one row per run (swept parameters, seed, every metric); "
            "`res.aggregate`: the long table behind the key numbers "
            "(`res.key_numbers(metrics, formatted=False)` gives its rows).\n"
            "- `res.tables`: the per-run metric tables (`freelancer_sample`, `jss_bands`, "
            "`precision_recall`, `one_negative_drop`, ...), with a `run_id` column.\n"
            "- Any figure function takes a selection of those tables, e.g. "
            "`marketplace.analysis.figures.rd_plot(res.table(\"freelancer_sample\"))`."
        ),
    ]
    return _finish(cells, e.name.replace("_", "-"))


def _code(source: str, **kwargs) -> nbformat.NotebookNode:
    return new_code_cell(textwrap.dedent(source).strip(), **kwargs)


def _md(source: str) -> nbformat.NotebookNode:
    return new_markdown_cell(textwrap.dedent(source).strip())


def getting_started_notebook() -> nbformat.NotebookNode:
    cells = [
        _md("""
            # Getting started with jss-market

            A simulated Upwork-like market in which every freelancer has a hidden true quality
            beside the public Job Success Score (JSS), so we can ask whether JSS >= 90 separates
            better freelancers. This notebook:

            1. builds a market in a few lines, runs it and looks at its tables;
            2. writes a small experiment config, runs it (in this process) and loads its results
               the way the canonical experiments' notebooks (`01_...` to `07_...`) do.

            Sizes are small so it runs in seconds; the parameters cell below sets them.
            """),
        _code("""
            n_freelancers = 1000  # the single market run
            weeks = 156  # 3 years: 2 of burn-in while the 24-month JSS window fills, 1 analysed
            burn_in_weeks = 104
            experiment_freelancers = 500  # the small experiment
            experiment_weeks = 120
            experiment_burn_in_weeks = 60
            replications = 2
            scratch_dir = None  # folder for the experiment's files; None: a temporary folder
            """, metadata={"tags": ["parameters"]}),
        _md("""
            ## 1. One market

            `ModelParams` is the one schema of every parameter (default, unit and meaning in
            `marketplace/model/params.py`; `docs/ODD.md` describes the model). `simulate` runs a
            whole market and returns its tables; the same parameters and seed give the same
            tables.
            """),
        _code("""
            from marketplace.model import MarketplaceModel, ModelParams, simulate

            params = ModelParams(n_freelancers=n_freelancers, weeks=weeks,
                                 burn_in_weeks=burn_in_weeks)
            out = simulate(params, seed=1)
            {name: table.shape for name, table in out.to_dict().items()}
            """),
        _md("""
            Freelancer snapshots (every 26 weeks and at the end) keep the hidden `true_quality`
            beside the public `jss` (NaN = no JSS yet) and the badges; the active ones at the
            end:
            """),
        _code("""
            final = out.freelancers.query("week == week.max() and active")
            final[["freelancer_id", "true_quality", "strategy", "jss", "n_outcomes", "top_rated",
                   "earnings_usd_total"]].head()
            """),
        _md("One row per week of market-wide numbers, and one row per contract:"),
        _code("""
            out.timeseries[["week", "n_active_freelancers", "jobs_posted", "proposals_per_job",
                            "share_jss_ge_90", "mean_public_stars", "spearman_jss_quality"]].tail()
            """),
        _code("""
            out.contracts[["freelancer_id", "client_id", "start_week", "end_week", "earnings_usd",
                           "public_stars", "private_score", "end_reason", "outcome"]].head()
            """),
        _md("""
            Parameters are nested (`freelancers.*`, `clients.*`, `platform.*`) and can be set by
            dotted paths; setting one share of a mix rescales the others so it still sums to 1:
            """),
        _code("""
            params.with_overrides({"clients.rater_mix.dishonest": 0.3}).clients.rater_mix
            """),
        _md("""
            The model is a Mesa model, so it can also be stepped week by week (as the dashboard
            does); its `DataCollector` holds the weekly numbers:
            """),
        _code("""
            model = MarketplaceModel(params=params, rng=1)
            for _ in range(30):
                model.step()
            model.datacollector.get_model_vars_dataframe()[["share_jss_ge_90",
                                                             "mean_public_stars"]].tail(3)
            """),
        _md("""
            The per-run metrics that experiments store (README, 'Analysis and reports', lists
            them all) are computed from these tables and the hidden qualities:
            """),
        _code("""
            from marketplace.analysis.metrics import run_metrics

            scalars, tables = run_metrics(out, params)
            {m: round(scalars[m], 3) for m in ["spearman_jss_quality", "quality_gap_90",
                                               "auc_top_quartile", "share_jss_ge_90",
                                               "precision_90", "recall_90"]}
            """),
        _md("""
            ## 2. A small experiment

            An experiment is a YAML file: a market, a sweep, replications and a root seed
            (README, 'Running experiments'). This one asks whether 30% dishonest raters weaken
            the link between JSS and quality. `marketplace run CONFIG` runs one from a shell;
            here it runs in this process.
            """),
        _code("""
            import tempfile
            from pathlib import Path

            import yaml

            work = Path(scratch_dir) if scratch_dir else Path(tempfile.mkdtemp(prefix="jss-"))
            work.mkdir(parents=True, exist_ok=True)
            config = {
                "name": "getting_started",
                "description": "Do 30% dishonest raters weaken the link between JSS and quality?",
                "model": {"n_freelancers": experiment_freelancers, "weeks": experiment_weeks,
                          "burn_in_weeks": experiment_burn_in_weeks},
                "sweep": {"grid": {"clients.rater_mix.dishonest": [0.0, 0.3]},
                          "replications": replications, "seed": 2026},
                "outputs": {"snapshot_every_weeks": 26, "contracts": False},
            }
            config_file = work / "getting_started.yaml"
            config_file.write_text(yaml.safe_dump(config, sort_keys=False))
            print(config_file.read_text())
            """),
        _code("""
            from marketplace.runner import load_config, run_experiment

            cfg = load_config(config_file)  # checked against ModelParams: bad keys are named
            sweep = run_experiment(cfg, work / "results", workers=1, quiet=True, force=True)
            print(f"{sweep.n_ok} of {sweep.n_runs} runs finished, {sweep.n_failed} failed")
            """),
        _md("""
            `marketplace.results.load` reads a results folder: the summary (one row per run), the
            aggregate (mean and 95% bootstrap CI per combination, built by the report), the
            manifest and the per-run metric tables.
            """),
        _code("""
            from marketplace import results

            res = results.load(work / "results")
            res.summary[["run_id", "clients.rater_mix.dishonest", "spearman_jss_quality",
                         "auc_top_quartile", "share_jss_ge_90"]]
            """),
        _code("""
            res.key_numbers(["spearman_jss_quality", "auc_top_quartile", "share_jss_ge_90",
                             "mean_public_stars"])
            """),
        _md("""
            Every figure is one function of `marketplace.analysis.figures` that takes stored
            tables and returns a matplotlib Figure; the report and the notebooks call the same
            functions. `res.figures()` builds all of the report's figures; single ones:
            """),
        _code("""
            %matplotlib inline
            from marketplace.analysis import figures

            figures.parameter_sweep(res.aggregate, "clients.rater_mix.dishonest",
                                    ["spearman_jss_quality", "auc_top_quartile", "share_jss_ge_90"])
            """),
        _code("""
            figures.quality_by_jss_band(res.table("jss_bands"))
            """),
        _code("""
            if scratch_dir is None:  # the temporary folder is not needed any more
                import shutil

                shutil.rmtree(work)
            """),
    ]
    return _finish(cells, "getting-started")


SENSITIVITY_NOTEBOOK = "08_sensitivity.ipynb"


def sensitivity_notebook() -> nbformat.NotebookNode:
    """The global sensitivity study (issue 12): which assumptions decide the answers."""
    cells = [
        _md("""
            # What decides the answer: global sensitivity analysis

            **Question** (issue 12, experiments `sensitivity` (Morris) and `sensitivity_sobol`):
            the headline answers rest on parameters that no data pin down, marked [A] in the ODD.
            Which of them move each headline metric, by how much and which way, and over what
            share of the plausible parameter space is a freelancer just above 90 better than one
            just below with 95% confidence?

            This notebook only reads stored results: the indices are computed by SALib from
            `summary.parquet` by the same code as `marketplace report` (stored as
            `sensitivity.parquet`), and the figures come from the report's plotting functions.
            The written reports are
            [`results/sensitivity/report.md`](../results/sensitivity/report.md) and
            [`results/sensitivity_sobol/report.md`](../results/sensitivity_sobol/report.md).
            To regenerate: `marketplace run experiments/sensitivity.yaml` and
            `marketplace run experiments/sensitivity_sobol.yaml`.
            """),
        _code("""
            results_dir = "../results/sensitivity"  # Morris study (papermill parameter)
            sobol_dir = "../results/sensitivity_sobol"  # Sobol study; skipped when absent
            """, metadata={"tags": ["parameters"]}),
        _code("""
            %matplotlib inline
            from pathlib import Path

            from IPython.display import Markdown, display

            from marketplace import results
            from marketplace.analysis import sensitivity as SA

            studies = {"Morris": results.resolve_path(results_dir)}
            if (Path(sobol_dir) / "summary.parquet").is_file():  # the Sobol study, once run
                studies["Sobol"] = results.resolve_path(sobol_dir)
            for method, folder in studies.items():
                manifest, summary, spec = SA.load(folder)
                display(Markdown(
                    f"**{method}** (`{folder}`): {len(summary)} finished runs of "
                    f"{manifest.get('n_runs')} ({SA.n_points(spec)} sample points of "
                    f"{len(spec['parameters'])} parameters x {manifest.get('replications')} "
                    f"replication(s)), root seed {manifest.get('root_seed')}"))
            """),
        _md("""
            ## Parameters and their ranges

            Each parameter's name in words comes from the model's schema (`ModelParams`); the
            ranges are the experiment's.
            """),
        _code("""
            import pandas as pd

            manifest, summary, spec = SA.load(studies["Morris"])
            pd.DataFrame([{"parameter": p, "meaning": SA.parameter_label(p),
                           "low": e["bounds"][0], "high": e["bounds"][1]}
                          for p, e in SA.parameter_specs(spec).items()])
            """),
        _md("""
            ## What decides the answer

            For each headline metric, the parameters that account for most of its variation and
            what each does to it; then the verdict on the 90 line over the sampled space.
            """),
        _code("""
            for method, folder in studies.items():
                display(Markdown(f"### {method}"), Markdown(SA.sensitivity_markdown(folder)))
            """),
        _md("""
            ## Figures

            Every figure of each study's report, rebuilt from the stored tables by
            `marketplace.analysis.report.experiment_figures`, with its caption.
            """),
        _code("""
            for method, folder in studies.items():
                for stem, (caption, figure) in results.load(folder).figures().items():
                    display(Markdown(f"**{stem}**: {caption}"), figure)
            """),
        _md("""
            ## Going further

            - `pd.read_parquet(Path(results_dir) / "sensitivity.parquet")`: every index (metric,
              parameter, method, index, value, conf, ci_low, ci_high, n_points).
            - `SA.ranking(indices, metric)`: one metric's parameters, most influential first.
            - `SA.robustness_verdict(results_dir)`: the verdict on the 90 line as one paragraph;
              `pd.read_parquet(Path(results_dir) / "robustness.parquet")` has it per sample point.
            """),
    ]
    return _finish(cells, "sensitivity")


def all_notebooks() -> dict[str, nbformat.NotebookNode]:
    """File name -> notebook (cells only, no outputs)."""
    out = {"00_getting_started.ipynb": getting_started_notebook()}
    out.update({e.filename: experiment_notebook(e) for e in EXPERIMENTS})
    out[SENSITIVITY_NOTEBOOK] = sensitivity_notebook()
    return out


def cell_sources(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    """What the generator decides about a notebook: (type, source, tags) per cell."""
    return [(c.cell_type, c.source, list(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed notebooks; exit 1 if any differ")
    args = parser.parse_args(argv)
    NOTEBOOKS.mkdir(exist_ok=True)
    stale = []
    for name, nb in all_notebooks().items():
        path = NOTEBOOKS / name
        current = nbformat.read(path, as_version=4) if path.is_file() else None
        if current is not None and cell_sources(current) == cell_sources(nb):
            continue
        stale.append(name)
        if not args.check:
            nbformat.validate(nb)
            nbformat.write(nb, path)
            print(f"wrote {path.relative_to(ROOT)} (no outputs: run scripts/execute_notebooks.py)")
    if args.check and stale:
        print("notebooks differ from scripts/make_notebooks.py: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
