"""The report: figures with captions that quote the run, statistics tables, our numbers
beside the published ones, and the compute cost per rule.

The unit tests build small tables by hand (or through the family's own statistics
functions) and check the facts behind every caption, the published-comparison tables
and the cost table; the workflow test builds the report of the quick run.
"""

import json
import re
import tomllib
import zipfile
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synlearn import configured_families
from synlearn.core import costs
from synlearn.reservoir import figures as reservoir_figures
from synlearn.reservoir import plots as reservoir_plots
from synlearn.reservoir import stats as reservoir_stats
from synlearn.synapse import figures as synapse_figures
from synlearn.hsic import plots as hsic_plots
from synlearn.spiking import plots as spiking_plots
from synlearn.synapse import plots as synapse_plots
from synlearn.synapse import stats as synapse_stats

from .conftest import snakemake

pytestmark = pytest.mark.workflow

ROOT = Path(__file__).resolve().parents[2]
QUICK = yaml.safe_load((ROOT / "config/quick.yaml").read_text())


# --- small reservoir tables ----------------------------------------------------------

def reservoir_curves(checkpoints, scores):
    """Curves of 2 networks x 2 targets; ``scores[(rule, rate)](trial, pair)`` is the
    test MSE (np.inf: diverged)."""
    rows = []
    for (rule, rate), score in scores.items():
        for trial in checkpoints:
            for pair in range(4):
                value = score(trial, pair)
                rows.append({"variant": "v0", "network": pair // 2, "target": pair % 2,
                             "rule": rule, "rate": rate, "forgetting_tau": np.nan, "trial": trial,
                             "test_mse": np.nan if np.isinf(value) else value,
                             "train_mse": np.nan if np.isinf(value) else value,
                             "diverged": bool(np.isinf(value))})
    return pd.DataFrame(rows)


def main_tables(checkpoints):
    """The main study's statistics for a grid where, at the last checkpoint, delta 1e-3
    is best (0.4 + pair / 100), the Bayesian rule best at 1e-2 (0.1 + pair / 100), and
    delta 1e-2 diverges in 3 of 4 pairs."""
    last = checkpoints[-1]

    def decay(level):
        return lambda trial, pair: 1.0 if trial == 0 else level * last / trial + pair / 100

    scores = {
        ("delta", 1e-4): decay(0.8),
        ("delta", 1e-3): decay(0.4),
        ("delta", 1e-2): lambda trial, pair: np.inf if pair and trial else 0.05,
        ("bayes", 1e-3): decay(0.3),
        ("bayes", 1e-2): decay(0.1),
    }
    return reservoir_stats.study_statistics(reservoir_curves(checkpoints, scores), [])


@pytest.fixture(scope="module")
def paper_checkpoints():
    return main_tables([0, 500, 1000])


@pytest.fixture(scope="module")
def quick_checkpoints():
    return main_tables([0, 10, 50, 100])


PUBLISHED = reservoir_stats.published_values()


def test_published_values_ship_with_the_package_and_keep_their_source():
    for family in ("reservoir", "synapse", "hsic", "spiking"):
        assert (files(f"synlearn.{family}") / "published.yaml").is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "*/published.yaml" in package_data["synlearn"]
    shared = PUBLISHED["readout"]
    assert "Fig. 5" in shared["paper"] and "rnn_delta.p" in shared["source"]
    assert shared["after_1000_trials"]["classical"]["mse"] == 0.0563
    assert shared["after_500_trials"]["ratio_classical_over_bayesian"] == 6.1
    assert PUBLISHED["force"]["learns_for_gain_between"] == [0.75, 1.56]
    synapse = synapse_stats.published_values()
    assert "fig_3.pkl" in synapse["source"]
    assert synapse["feedbacks"]["rl"]["classical_best_eta"] == 1.0e-3


def test_reservoir_published_table_at_the_published_checkpoints(paper_checkpoints):
    table = reservoir_stats.published_comparison(
        {"comparison": paper_checkpoints["comparison"], "best": paper_checkpoints["best"]})
    assert list(table.columns) == reservoir_stats.PUBLISHED_COLUMNS
    rows = table.set_index(["quantity", "ours_trials"])
    # medians over the 4 pairs at the best rates: 0.4 + (0.015) and 0.1 + 0.015
    assert rows.loc[("best classical median test MSE", 1000), "ours"] == pytest.approx(0.415)
    assert rows.loc[("best Bayesian median test MSE", 1000), "ours"] == pytest.approx(0.115)
    ratio = rows.loc[("classical / Bayesian MSE ratio", 1000)]
    assert ratio["ours"] == pytest.approx(0.415 / 0.115)
    assert ratio["published"] == 10.2
    assert ratio["ratio_ours_over_published"] == pytest.approx(0.415 / 0.115 / 10.2)
    # the rates are chosen at the last checkpoint, so at 500 trials the same rates
    assert rows.loc[("best classical median test MSE", 500), "ours"] == pytest.approx(0.815)
    assert rows.loc[("best classical learning rate eta", 1000), "ours"] == 1e-3
    assert rows.loc[("best Bayesian initial rate eta0", 1000), "published"] == 1e-2
    assert (table["published_trials"] == table["ours_trials"]).all()
    assert not table["note"].str.contains("n/a").any()
    assert table["source"].str.contains("Aitchison et al. 2021").all()
    assert table["statistic"].str.contains("4 network x target pairs").any()


def test_reservoir_published_table_says_n_a_without_the_checkpoints(quick_checkpoints):
    table = reservoir_stats.published_comparison(
        {"comparison": quick_checkpoints["comparison"], "best": quick_checkpoints["best"]})
    missing = table[table["ours_trials"].isin([500, 1000])]
    assert len(missing) == 8  # 3 quantities at 500, 5 at 1000
    assert missing["ours"].isna().all() and missing["ratio_ours_over_published"].isna().all()
    assert missing["note"].str.startswith("n/a: this run has no checkpoint").all()
    last = table[table["ours_trials"] == 100].set_index("quantity")
    assert (last["published_trials"] == 1000).all()
    assert last.loc["best Bayesian median test MSE", "ours"] == pytest.approx(0.115)
    assert last.loc["best Bayesian median test MSE", "published"] == 0.0055
    assert last["note"].str.contains("after 1000 trials").all()


def test_mse_vs_rate_facts_use_the_runs_own_checkpoints(paper_checkpoints, quick_checkpoints):
    paper = reservoir_plots.facts("mse_vs_rate", {"main_summary": paper_checkpoints["summary"]})
    assert paper["trials"] == [500, 1000]
    quick = reservoir_plots.facts("mse_vs_rate", {"main_summary": quick_checkpoints["summary"]})
    assert quick["trials"] == [50, 100] and quick["checkpoints"] == [0, 10, 50, 100]
    last = quick["snapshots"][-1]
    rules = {row["rule"]: row for row in last["rules"]}
    assert rules["delta"]["best_rate"] == 1e-3  # 1e-2 is lower but 75% diverged
    assert rules["delta"]["n_excluded"] == 1 and rules["delta"]["n_rates"] == 3
    assert rules["bayes"]["best_median"] == pytest.approx(0.115)
    assert last["ratio"] == pytest.approx(0.415 / 0.115)
    assert last["bayes_beating"] == [1e-3, 1e-2]  # 0.315 and 0.115 < 0.415
    assert quick["n_pairs"] == 4


def test_learning_curves_facts(quick_checkpoints):
    facts = reservoir_plots.facts("learning_curves", {"main_summary": quick_checkpoints["summary"],
                                                      "main_best": quick_checkpoints["best"]})
    assert facts["last"] == 100 and facts["checkpoints"] == [0, 10, 50, 100]
    assert {row["rule"]: row["rate"] for row in facts["rules"]} == {"delta": 1e-3, "bayes": 1e-2}
    assert facts["ratio"] == pytest.approx(0.415 / 0.115)
    assert facts["n_pairs"] == 4 and facts["force"] == []


def test_ablation_and_forgetting_facts():
    comparison = pd.DataFrame({
        "trial": [100] * 4 + [10],
        "protocol_noise_std": [0.0, 0.0, 0.05, 0.05, 0.05],
        "network_readout_gain_log10_sd": [0.0, 0.5, 0.0, 0.5, 0.5],
        "ratio": [1.0, 1.5, 1.2, 3.0, 9.0], "bayes_win_fraction": [0.5, 0.75, 0.5, 1.0, 1.0],
        "n_pairs": [4] * 5})
    facts = reservoir_plots.facts("ablation", {"ablation_comparison": comparison})
    assert facts["last"] == 100 and len(facts["conditions"]) == 4
    assert facts["largest"]["ratio"] == 3.0  # at the last checkpoint, not the 9 at trial 10
    assert facts["neither"]["ratio"] == 1.0 and facts["both"]["win_fraction"] == 1.0

    summary = pd.DataFrame({
        "rule": ["delta", "delta", "bayes", "bayes", "bayes"],
        "rate": [1e-4, 1e-3, 1e-2, 5e-2, 1e-2],
        "forgetting_tau": [np.nan, np.nan, np.nan, np.nan, 2e4],  # no forgetting: empty
        "trial": [100] * 5, "median": [0.5, 0.3, 0.25, 0.2, 0.22], "n_runs": [2] * 5})
    facts = reservoir_plots.facts("forgetting", {"forgetting_summary": summary})
    assert facts["delta"] == {"rate": 1e-3, "median": 0.3}
    assert facts["bayes"] == [
        {"tau_s": 0.0, "forgetting": False, "eta0": 5e-2, "median": 0.2},
        {"tau_s": 20.0, "forgetting": True, "eta0": 1e-2, "median": 0.22}]


def test_alpha_distribution_facts_find_the_slope():
    gains = np.logspace(-1, 1, 20)
    rows = [{"rule": "bayes", "rate": eta0, "forgetting_tau": np.nan, "diverged": False,
             "trial": trial, "unit": unit, "readout_gain": gain,
             "alpha": eta0 if trial == 0 else 0.01 * gain ** -2.0}
            for eta0 in (1e-3, 1e-2) for trial in (0, 100) for unit, gain in enumerate(gains)]
    facts = reservoir_plots.facts("alpha_distribution", {"main_rates": pd.DataFrame(rows)})
    assert facts["last"] == 100 and facts["eta0s"] == [1e-3, 1e-2]
    for row in facts["per_eta0"]:
        assert row["slope"] == pytest.approx(-2.0)
        assert row["decades"] == pytest.approx(4.0) and row["n_synapses"] == 20


def test_every_declared_figure_has_facts_and_a_caption_template():
    for family, plots in (("reservoir", reservoir_plots), ("synapse", synapse_plots),
                          ("hsic", hsic_plots), ("spiking", spiking_plots)):
        for figure in next(f for f in configured_families(QUICK) if f.name == family).figures:
            assert figure.function in plots.FACTS, figure.name
            template = (ROOT / "workflow/report" / f"{figure.template}.rst").read_text()
            assert "facts." in template, figure.name  # it quotes the run's numbers
            assert re.search(r"Sussillo & Abbott|Aitchison et al\. \(2021\), Fig|"
                             r"Daruwalla & Lipasti \(2024\)|Jimenez Rezende & Gerstner \(2014\)",
                             template), figure.name
    with pytest.raises(KeyError, match="no facts"):
        reservoir_plots.facts("no_such_figure", {})
    # ten figures, and every study its error CDF and success fraction
    assert len(reservoir_figures(QUICK["reservoir"])) == 10 + 2 * len(QUICK["reservoir"]["studies"])
    assert len(synapse_figures({})) == 3


# --- small synapse tables ------------------------------------------------------------

def synapse_summary():
    """2 seeds x (Bayesian + 3 classical rates) for linear and cerebellar feedback; the
    largest rate diverges in both seeds of cerebellar."""
    rows = []
    for feedback, bayes, classical in (("linear", 0.03, (0.06, 0.04, 0.05)),
                                       ("cerebellar", 0.05, (0.08, 0.06, np.nan))):
        for seed in (0, 1):
            rows.append({"feedback": feedback, "seed": seed, "n_synapses": 10, "rule": "bayes",
                         "eta": np.nan, "mse": bayes + seed / 1000, "coverage_2sd": 0.9 + seed / 100,
                         "diverged": False})
            for eta, mse in zip((1e-3, 1e-2, 1e-1), classical):
                rows.append({"feedback": feedback, "seed": seed, "n_synapses": 10,
                             "rule": "classical", "eta": eta, "mse": mse, "coverage_2sd": np.nan,
                             "diverged": bool(np.isnan(mse))})
    return pd.DataFrame(rows)


def test_synapse_published_table_per_feedback():
    comparison = synapse_stats.synapse_comparison(synapse_summary())
    table = synapse_stats.published_comparison({"comparison": comparison})
    assert list(table.columns) == synapse_stats.PUBLISHED_COLUMNS
    rows = table.set_index(["feedback", "quantity"])
    linear = rows.loc["linear"]
    assert linear.loc["Bayesian MSE", "ours"] == pytest.approx(0.0305)
    assert linear.loc["Bayesian MSE", "published"] == 0.0355
    assert linear.loc["Bayesian MSE", "ratio_ours_over_published"] == pytest.approx(0.0305 / 0.0355)
    assert linear.loc["best classical learning rate eta", "ours"] == 1e-2
    assert linear.loc["classical / Bayesian MSE ratio", "published"] == pytest.approx(0.0426 / 0.0355)
    assert linear.loc["Bayesian 2-sigma coverage", "ours"] == pytest.approx(0.905)
    assert rows.loc[("cerebellar", "best classical MSE"), "ours"] == pytest.approx(0.06)
    rl = rows.loc["rl"]  # published, but not in this run
    assert rl["ours"].isna().all() and rl["note"].str.startswith("n/a").all()
    assert table["statistic"].str.contains("mean over 2 seeds").sum() == 2 * 3  # MSEs, coverage


def test_synapse_facts():
    summary = synapse_summary()
    facts = synapse_plots.facts("mse_vs_eta", {"summary": summary})
    by = {row["feedback"]: row for row in facts["feedbacks"]}
    assert list(by) == ["linear", "cerebellar"]  # the figure's panel order
    assert by["linear"]["best_eta"] == 1e-2 and by["linear"]["n_seeds"] == 2
    assert by["linear"]["ratio"] == pytest.approx(0.04 / 0.0305)
    assert by["cerebellar"]["classical_diverged_fraction"] == pytest.approx(1 / 3)
    assert by["cerebellar"]["excluded_fraction"] == pytest.approx(1 / 3)
    assert by["linear"]["n_etas"] == 3 and by["linear"]["eta_high"] == 0.1

    rates = np.logspace(-1, 1, 10)
    per_synapse = pd.DataFrame({"feedback": "rl", "rate_hz": rates,
                                "normalised_variability": 0.1 / rates,
                                "normalised_learning_rate": 0.2 * rates ** -0.5})
    facts = synapse_plots.facts("rate_dependence", {"rates": per_synapse})["feedbacks"][0]
    assert facts["variability_slope"] == pytest.approx(-1.0)
    assert facts["learning_rate_slope"] == pytest.approx(-0.5)
    assert facts["n_synapses"] == 10 and facts["rate_low"] == pytest.approx(0.1)

    time_tau = np.arange(0, 5, 0.5)
    trace = pd.DataFrame({"feedback": "linear", "synapse": 0, "rate_hz": 3.0, "time_tau": time_tau,
                          "time_s": time_tau * 1000, "weight_true": 1.0,
                          "weight_mean": np.where(time_tau >= 4, 2.0, 1.1), "weight_sd": 0.1})
    facts = synapse_plots.facts("timeseries", {"timeseries": trace})["feedbacks"][0]
    assert facts["shown_tau"] == 2.5  # from the burn-in at 2 tau, as the figure
    assert facts["inside_band"] == pytest.approx(4 / 6)  # 1.1 +- 0.2 holds 1, 2.0 does not


# --- compute cost --------------------------------------------------------------------

def test_cost_table_per_rule_from_benchmark_files(tmp_path, monkeypatch):
    folder = tmp_path / "results/benchmarks/fam"
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    jobs = {"compile.tsv": (10.0, 200.0, 8.0), "a/network0.tsv": (3.0, 150.0, 2.5),
            "a/network1.tsv": (4.0, 160.0, 3.5), "a/statistics.tsv": (1.0, 120.0, 0.5),
            "old/gone.tsv": (1.0, 1.0, 1.0)}
    for name, (wall, rss, cpu) in jobs.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(header + f"{wall}\t0:00:0{int(wall)}\t{rss}\tNA\t-\t-\t0\t0\t50\t{cpu}\n")
    patterns = {"compile_kernels": r"results/benchmarks/(?P<family>[a-z]+)/compile\.tsv$",
                "train": r"results/benchmarks/fam/(?P<study>[a-z]+)/network(?P<network>\d+)\.tsv$",
                "statistics": r"results/benchmarks/fam/(?P<study>[a-z]+)/statistics\.tsv$",
                # matches network files too, less specifically
                "anything": r"results/benchmarks/fam/(?P<study>[a-z]+)/(?P<file>network\d+)\.tsv$"}
    monkeypatch.chdir(tmp_path)  # the workflow names benchmark files from its working directory
    table = costs.tabulate_costs("results/benchmarks/fam", patterns).set_index("rule")
    assert list(table.columns) == costs.COST_COLUMNS[1:]
    assert table.loc["train", "jobs"] == 2
    assert table.loc["train", "cpu_s_total"] == pytest.approx(6.0)
    assert table.loc["train", "cpu_s_largest_job"] == 3.5
    assert table.loc["train", "peak_max_rss_mb"] == 160.0
    assert table.loc["train", "largest_job"] == "results/benchmarks/fam/a/network1.tsv"
    assert table.loc[costs.UNMATCHED, "jobs"] == 1
    assert "anything" not in table.index
    assert list(table.index)[0] == "compile_kernels"  # the most CPU first
    assert table.index[-1] == costs.TOTAL
    assert table.loc[costs.TOTAL, "jobs"] == 5
    assert table.loc[costs.TOTAL, "cpu_s_total"] == pytest.approx(15.5)
    assert table.loc[costs.TOTAL, "peak_max_rss_mb"] == 200.0


def test_cost_table_prefers_the_jobs_own_cpu_records(tmp_path, monkeypatch):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for name in ("a/network0", "a/network1", "a/network2"):
        bench = tmp_path / f"results/benchmarks/fam/{name}.tsv"
        bench.parent.mkdir(parents=True, exist_ok=True)
        bench.write_text(header + "40.0\t0:00:40\t100\tNA\t-\t-\t0\t0\t50\t15.1\n")
    records = tmp_path / "results/logs/fam/a"
    records.mkdir(parents=True)
    row = "status\terror\tcpu_s\tself_cpu_s\tchildren_cpu_s\twall_s\tmax_rss_mb\n"
    (records / "network0.cpu.tsv").write_text(row + "ok\t\t39.5\t39.5\t0\t40\t100\n")
    (records / "network1.cpu.tsv").write_text(row + "failed\tValueError\t2.0\t2\t0\t3\t90\n")
    patterns = {"train": r"results/benchmarks/fam/(?P<study>[a-z]+)/network(?P<network>\d+)\.tsv$"}
    monkeypatch.chdir(tmp_path)
    jobs = costs.read_benchmarks("results/benchmarks/fam", patterns).set_index("path")
    # the record where it is a success; Snakemake's sampled value otherwise
    assert jobs["cpu_time"].tolist() == [39.5, 15.1, 15.1]
    assert jobs["recorded"].tolist() == [True, False, False]
    table = costs.cost_table(jobs.reset_index()).set_index("rule")
    assert table.loc["train", "cpu_s_total"] == pytest.approx(39.5 + 2 * 15.1)


# --- the report of the quick run -----------------------------------------------------

def _report_json(html, name):
    match = re.search(rf"var {name} = (\{{.*?\}});\n", html, re.S)
    assert match, f"no `var {name}` in report.html: has Snakemake's report format changed?"
    return json.loads(match.group(1))


def test_report_of_the_quick_run_holds_every_familys_figures_tables_and_numbers(quick_run, tmp_path):
    work, _ = quick_run
    compared = {path: path.read_bytes() for pattern in ("*.csv", "*.png", "*.pdf")
                for path in (work / "results").rglob(pattern)}
    snakemake("--configfile", "config/quick.yaml", "--report", "results/report.zip", cwd=work)
    # the report reads the results and writes only itself
    assert {path: path.read_bytes() for path in compared} == compared
    with zipfile.ZipFile(work / "results/report.zip") as archive:
        archive.extractall(tmp_path)
        names = archive.namelist()
    html = (tmp_path / "report/report.html").read_text()
    categories = _report_json(html, "categories")
    results = _report_json(html, "results")
    raw = {Path(name).name for name in names if "/data/raw/" in name}

    for family in configured_families(QUICK):
        sections = categories[family.title]
        for figure in family.figures:
            path = f"results/figures/{figure.name}.png"
            assert path in sections["Figures"], path
            caption = results[path]["caption"]
            assert "This run" in caption and "Source." in caption, figure.name
            assert "{{" not in caption and "{%" not in caption, figure.name
            assert f"{figure.name}.png" in raw
        assert sections["Ours vs published"] == [f"results/{family.name}/published_comparison.csv"]
        assert sections["Compute cost"] == [f"results/benchmarks/{family.name}_costs.tsv"]
        assert {"published_comparison.csv", f"{family.name}_costs.tsv"} <= raw

    reservoir = categories["Reservoir readout learning"]["Statistics tables"]
    for study in QUICK["reservoir"]["studies"]:
        for table in ("comparison", "best"):
            assert f"results/reservoir/{study}/{table}.csv" in reservoir
    assert categories["Single-synapse Bayesian filtering"]["Statistics tables"] == [
        "results/synapse/comparison.csv"]

    # the captions quote this run: the quick config's last checkpoints, not 500 and 1000
    rate = results["results/figures/reservoir_mse_vs_rate.png"]["caption"]
    assert "after 50 and 100 trials" in rate and "after 500 and 1000 trials" not in rate
    summary = pd.read_csv(work / "results/reservoir/main/summary.csv")
    facts = reservoir_plots.facts("mse_vs_rate", {"main_summary": summary})
    assert f"classical / Bayesian ratio {facts['snapshots'][-1]['ratio']:.3g}" in rate
    curves = results["results/figures/reservoir_learning_curves.png"]["caption"]
    assert "checkpoints 0, 10, 25, 50, 100. After 100 trials" in curves
    assert "4 pairs (2 networks x 2 targets" in curves
    synapse = results["results/figures/synapse_mse_vs_eta.png"]["caption"]
    comparison = pd.read_csv(work / "results/synapse/comparison.csv").set_index("feedback")
    assert f"Bayesian {comparison.loc['linear', 'bayes_mse']:.3g}, best classical" in synapse
    assert "Linear (2 seeds, 100 synapses" in synapse

    published = pd.read_csv(work / "results/reservoir/published_comparison.csv")
    assert published.loc[published["ours_trials"] == 1000, "ours"].isna().all()
    assert (published.loc[published["ours_trials"] == 100, "published_trials"] == 1000).all()
    costs_table = pd.read_csv(work / "results/benchmarks/reservoir_costs.tsv", sep="\t")
    assert costs.UNMATCHED not in set(costs_table["rule"])  # every benchmark file has its rule
    assert {"reservoir_train", "compile_kernels", "reservoir_statistics",
            "reservoir_published_comparison", "figure_reservoir_mse_vs_rate"} <= set(costs_table["rule"])
    train = costs_table.set_index("rule").loc["reservoir_train"]
    assert train["jobs"] == len(list((work / "results/benchmarks/reservoir").rglob("network*.tsv")))
    assert costs_table["rule"].iloc[-1] == costs.TOTAL
