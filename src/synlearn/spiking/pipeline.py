"""The steps of the spiking workflow (Jimenez Rezende & Gerstner 2014), config to tables.

Each function is what one Snakemake rule does. Every random draw comes from a stream
addressed by the config's seed and the run's identity (``synlearn.core.seeding``;
reservoir 0-3, synapse 4, hsic 5-10, spiking 11-23), never by the job or the order
jobs run in:

- stairs: training data by seed (11), held-out rasters (12, one set for every run),
  initial weights by seed (13, the same for both rules and every learning rate: paired
  comparisons), wake samples by seed (14), the importance sampler by seed, checkpoint and
  held-out raster (15), the rasters figure's sleep and inference samples (22);
- maze: the layout (16, one per config seed), the walker (17), visible spikes (18) and
  wake samples (19) by seed, the probes' visible rasters (20) and wake samples (21) by
  seed, probe and room, the initial weights (23).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..core import seeding
from ..core.datasets import load_digits, load_mnist
from . import learning, maze, model, online, stairs
from .studies import Point, checkpoints, maze_batches

STAIRS_DATA, STAIRS_TEST, STAIRS_INIT, STAIRS_WAKE, STAIRS_IS = 11, 12, 13, 14, 15
MAZE_LAYOUT, MAZE_WALK, MAZE_SPIKES, MAZE_WAKE, PROBE_SPIKES, PROBE_WAKE = 16, 17, 18, 19, 20, 21
RASTER_STREAM, MAZE_INIT = 22, 23

STAIRS_COLUMNS = ("rule", "point", "mu_M_factor", "mu_Q_factor", "mu_M", "mu_Q", "seed", "batch", "log_likelihood",
                  "log_likelihood_se", "ess", "train_free_energy", "diverged")
log = logging.getLogger(__name__)


def params_of(section: dict) -> model.Params:
    network = section["network"]
    return model.make_params(network["dt_ms"], network["tau_syn_ms"], network["tau_adapt_ms"],
                             network["eta_0"], network["rho_0_hz"], network["theta"],
                             network["delta_u"])


def rule_of(section: dict, rule: str, point: Point | None = None,
            spec: dict | None = None) -> model.Rule:
    spec = section["rule"] if spec is None else spec
    a, b = (1.0, 1.0) if point is None else (point.mu_M_factor, point.mu_Q_factor)
    return model.make_rule(spec["mu_M"] * a, spec["mu_Q"] * b, rule == "baseline",
                           spec["baseline_tau"])


def _init(section: dict, n_visible: int, n_hidden: int, rng, params) -> model.Weights:
    network = section["network"]
    return model.init_weights(n_visible, n_hidden, rng, network["weight_std"],
                              network["init_rate_hz"], params)


def _stairs(section: dict, rng, n_bins: int, n_batches: int | None):
    spec = section["stairs"]
    return stairs.make_stairs(rng, n_bins, n_batches, dt_ms=section["network"]["dt_ms"],
                              n_blocks=spec["n_blocks"], block_size=spec["block_size"],
                              step_ms=tuple(spec["step_ms"]), active_hz=spec["active_hz"],
                              background_hz=spec["background_hz"])


def batch_bins(section: dict) -> int:
    return int(round(section["batch_ms"] / section["network"]["dt_ms"]))


def stairs_table(section: dict, rule: str, point: Point, base_seed: int) -> pd.DataFrame:
    """Learning curves of one rule at one learning-rate point, every seed of the point.

    At every checkpoint (``studies.checkpoints``): the held-out log-likelihood, the mean
    over ``n_test`` held-out rasters of one batch each of the importance-sampling
    estimate with ``samples`` samples (nats per raster), its standard error (of the mean,
    from the rasters' delta-method errors), the mean effective sample size, and the mean
    training F since the last checkpoint. A run whose F or weights became non-finite is
    diverged from that checkpoint on: NaN numbers, ``diverged`` True.

    Returns
    -------
    DataFrame
        ``STAIRS_COLUMNS``, one row per seed and checkpoint.
    """
    spec, params = section["stairs"], params_of(section)
    n_bins = batch_bins(section)
    rates = rule_of(section, rule, point)
    test = _stairs(section, seeding.generator(base_seed, STAIRS_TEST), n_bins,
                   spec["n_test"]).raster
    stops = checkpoints(section)
    factors = (point.mu_M_factor, point.mu_Q_factor)
    rows = []
    for seed in range(point.seeds):
        data = _stairs(section, seeding.generator(base_seed, STAIRS_DATA, seed), n_bins,
                       max(stops[-1], 1)).raster
        weights = _init(section, spec["n_visible"], spec["n_hidden"],
                        seeding.generator(base_seed, STAIRS_INIT, seed), params)
        wake = seeding.generator(base_seed, STAIRS_WAKE, seed)
        f_bar, diverged, previous = None, False, 0
        for index, stop in enumerate(stops):
            train_f = np.nan
            if stop > previous and not diverged:
                result = online.train_online(weights, params, rates, data[previous:stop], wake,
                                             f_bar)
                f_bar, diverged = result.f_bar, result.diverged
                train_f = float(np.mean(result.free_energy)) if not diverged else np.nan
            previous = stop
            if diverged:
                rows.append((rule, point.name, *factors, rates.mu_M, rates.mu_Q, seed, stop, np.nan,
                             np.nan, np.nan, np.nan, True))
                continue
            estimates = [learning.log_likelihood_is(
                weights, params, test[k], spec["samples"],
                seeding.generator(base_seed, STAIRS_IS, seed, index, k))
                for k in range(spec["n_test"])]
            values = np.array([e.estimate for e in estimates])
            errors = np.array([e.standard_error for e in estimates])
            rows.append((rule, point.name, *factors, rates.mu_M, rates.mu_Q, seed, stop,
                         float(values.mean()), float(np.sqrt(np.sum(errors ** 2))) / values.size,
                         float(np.mean([e.ess for e in estimates])), train_f,
                         bool(not np.isfinite(values).all())))
        log.info("stairs %s %s seed %d: done (diverged %s)", rule, point.name, seed, diverged)
    return pd.DataFrame(rows, columns=list(STAIRS_COLUMNS))


def raster_table(section: dict, base_seed: int) -> pd.DataFrame:
    """The rasters figure's spikes: data, sleep samples of M, hidden activity under Q.

    The network of the default setting (baseline rule, seed 0) after its training; one
    held-out raster of ``raster_ms`` (``data``: the visible spikes, ``inferred``: one
    sample of the hidden neurons from Q given them), and ``raster_ms`` of sleep (``sleep``:
    M alone, visible and hidden). One row per spike: ``panel``, ``time_ms``, ``neuron``
    (0-based within its layer), ``layer`` (visible, hidden), and ``block``, the data's
    active block in that bin (NaN for sleep).
    """
    spec, params = section["stairs"], params_of(section)
    n_bins = batch_bins(section)
    data = _stairs(section, seeding.generator(base_seed, STAIRS_DATA, 0), n_bins,
                   max(spec["batches"], 1)).raster
    weights = _init(section, spec["n_visible"], spec["n_hidden"],
                    seeding.generator(base_seed, STAIRS_INIT, 0), params)
    online.train_online(weights, params, rule_of(section, "baseline"), data[:spec["batches"]],
                        seeding.generator(base_seed, STAIRS_WAKE, 0))
    length = int(round(spec["raster_ms"] / section["network"]["dt_ms"]))
    rng = seeding.generator(base_seed, RASTER_STREAM)
    shown = _stairs(section, rng, length, None)
    inferred = learning.free_energy(weights, params, shown.raster, rng).hidden[0]
    dream = learning.sleep(weights, params, length, rng)
    dt = section["network"]["dt_ms"]
    parts = []
    for panel, raster, layer, block in (
            ("data", shown.raster, "visible", shown.block),
            ("inferred", inferred, "hidden", shown.block),
            ("sleep", dream[:, :spec["n_visible"]], "visible", None),
            ("sleep", dream[:, spec["n_visible"]:], "hidden", None)):
        t, neuron = np.nonzero(raster)
        parts.append(pd.DataFrame({
            "panel": panel, "time_ms": t * dt, "neuron": neuron, "layer": layer,
            "block": block[t].astype(float) if block is not None else np.nan}))
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------ the maze


def maze_images(section: dict):
    """The image set of the maze: (images (n, h, w) in [0, 1], labels)."""
    spec = section["maze"]
    if spec["images"] == "mnist":
        train, _ = load_mnist(spec["mnist_folder"])
        return train.images, train.labels
    digits = load_digits()
    return digits.images, digits.labels


def layout_table(section: dict, base_seed: int) -> pd.DataFrame:
    """Both mazes' rooms: one row per maze, room and pixel.

    Columns ``maze``, ``room``, ``row``, ``col``, ``replaced``, ``image`` (index in the
    image set), ``digit``, ``pixel``, ``intensity`` (0-1) and ``rate_hz``.
    """
    spec = section["maze"]
    images, labels = maze_images(section)
    flat = images.reshape(images.shape[0], -1)
    layout = maze.make_layout(seeding.generator(base_seed, MAZE_LAYOUT), labels,
                              spec["replaced_rooms"], spec["rows"], spec["cols"],
                              intensity=flat.sum(axis=1))
    parts = []
    for name, chosen in (("target", layout.target), ("control", layout.control)):
        rates = maze.room_rates(flat[chosen], spec["low_hz"], spec["high_hz"])
        rooms, pixels = np.meshgrid(np.arange(chosen.size), np.arange(flat.shape[1]),
                                    indexing="ij")
        parts.append(pd.DataFrame({
            "maze": name, "room": rooms.ravel(), "row": rooms.ravel() // spec["cols"],
            "col": rooms.ravel() % spec["cols"],
            "replaced": layout.replaced[rooms.ravel()] & (name == "control"),
            "image": chosen[rooms.ravel()], "digit": labels[chosen][rooms.ravel()],
            "pixel": pixels.ravel(), "intensity": flat[chosen].ravel(),
            "rate_hz": rates.ravel()}))
    return pd.concat(parts, ignore_index=True)


def layout_arrays(rooms: pd.DataFrame):
    """Per maze, the rates (n_rooms, nV) from a ``layout_table``; and the replaced rooms."""
    rates = {}
    for name, part in rooms.groupby("maze", sort=False):
        part = part.sort_values(["room", "pixel"])
        n_rooms = part["room"].nunique()
        rates[name] = part["rate_hz"].to_numpy().reshape(n_rooms, -1)
    control = rooms[rooms["maze"] == "control"].drop_duplicates("room").sort_values("room")
    return rates, control["replaced"].to_numpy(bool)


def maze_visits(section: dict) -> list[tuple[str, str, int]]:
    """The protocol: (phase, maze, batches) of familiarisation and each later visit."""
    counts = maze_batches(section)
    visits = [("learn", "target", counts["learn"])]
    for k in range(section["maze"]["visits"]):
        visits.append(("alternate", "control" if k % 2 == 0 else "target",
                       counts["switch_every"]))
    return visits


BATCH_COLUMNS = ("seed", "batch", "time_s", "phase", "visit", "maze", "room", "replaced",
                 "free_energy", "baseline", "novelty", "slow_target", "slow_control", "dw_M",
                 "dw_Q", "diverged")
PROBE_COLUMNS = ("seed", "probe", "time_s", "maze", "room", "replaced", "free_energy")


def _probe(weights, params, rates, replaced, spec, n_bins, dt, base_seed, seed, probe,
           time_s) -> list[tuple]:
    """F of ``probe_batches`` batches in every room of both mazes, weights frozen.

    A room's visible rasters and wake samples come from the same streams in both mazes,
    so a room that is not replaced gives the same F in both (a paired comparison)."""
    rows = []
    frozen = model.make_rule(0.0, 0.0, True, 1.0)
    for name in ("target", "control"):
        for room in range(rates[name].shape[0]):
            batches = maze.visible_batches(
                seeding.generator(base_seed, PROBE_SPIKES, seed, probe, room),
                np.full(spec["probe_batches"], room), rates[name], n_bins, dt)
            result = online.train_online(weights.copy(), params, frozen, batches,
                                         seeding.generator(base_seed, PROBE_WAKE, seed, probe,
                                                           room))
            rows.append((seed, probe, time_s, name, room,
                         bool(replaced[room] and name == "control"),
                         float(np.mean(result.free_energy))))
    return rows


def maze_tables(section: dict, rooms: pd.DataFrame, seed: int, base_seed: int
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed of the maze protocol: learning in the target maze, then alternating.

    The walker (``maze.walk``) starts in room 0 and keeps its room across the switches;
    learning runs throughout with the default rule (``spiking.maze.rule``), ``F_bar``
    carried over. Per batch: F, the rule's ``baseline`` F_bar, the ``novelty`` F - F_bar,
    the slow averages of F in each maze (time constant ``slow_tau_s``, updated only by
    batches in that maze, started at its first batch there; NaN before), the RMS weight
    changes, the room. Every ``probe_every_s`` (and at 0): ``_probe``.

    Returns
    -------
    batches : DataFrame, ``BATCH_COLUMNS``
    probe : DataFrame, ``PROBE_COLUMNS``
    """
    spec, params = section["maze"], params_of(section)
    rates, replaced = layout_arrays(rooms)
    n_bins, dt = batch_bins(section), section["network"]["dt_ms"]
    batch_s = section["batch_ms"] * 1e-3
    counts = maze_batches(section)
    n_visible = rates["target"].shape[1]
    weights = _init(section, n_visible, spec["n_hidden"],
                    seeding.generator(base_seed, MAZE_INIT, seed), params)
    rule = rule_of(section, "baseline", spec=spec["rule"])
    walker = seeding.generator(base_seed, MAZE_WALK, seed)
    spikes = seeding.generator(base_seed, MAZE_SPIKES, seed)
    wake = seeding.generator(base_seed, MAZE_WAKE, seed)
    f_bar, diverged, room, batch = None, False, 0, 0
    slow = {"target": np.nan, "control": np.nan}
    parts, probes, probe = [], [], 0
    chunk = counts["probe_every"]
    probes += _probe(weights, params, rates, replaced, spec, n_bins, dt, base_seed, seed, 0, 0.0)
    for visit, (phase, name, length) in enumerate(maze_visits(section)):
        path = maze.walk(walker, length + 1, room, spec["leave_probability"], spec["rows"],
                         spec["cols"])
        path = path[1:] if visit else path[:-1]  # a switch is a batch boundary like any other
        room = int(path[-1])
        for start in range(0, length, chunk):
            where = path[start:start + chunk]
            n = where.size
            record = {key: np.full(n, np.nan) for key in
                      ("free_energy", "baseline", "dw_M", "dw_Q", "slow_target", "slow_control")}
            if not diverged:
                data = maze.visible_batches(spikes, where, rates[name], n_bins, dt)
                result = online.train_online(weights, params, rule, data, wake, f_bar)
                f_bar, diverged = result.f_bar, result.diverged
                for key in ("free_energy", "baseline", "dw_M", "dw_Q"):
                    record[key] = getattr(result, key)
                for b in range(result.n_batches):
                    f = result.free_energy[b]
                    slow[name] = f if np.isnan(slow[name]) else \
                        slow[name] + (f - slow[name]) / counts["slow_tau"]
                    record["slow_target"][b], record["slow_control"][b] = \
                        slow["target"], slow["control"]
            index = np.arange(batch, batch + n)
            parts.append(pd.DataFrame({
                "seed": seed, "batch": index, "time_s": (index + 1) * batch_s, "phase": phase,
                "visit": visit, "maze": name, "room": where,
                "replaced": replaced[where] & (name == "control"), **record,
                "novelty": record["free_energy"] - record["baseline"],
                "diverged": np.isnan(record["free_energy"])}))
            batch += n
            if batch % chunk == 0 and not diverged:
                probe += 1
                probes += _probe(weights, params, rates, replaced, spec, n_bins, dt, base_seed,
                                 seed, probe, batch * batch_s)
        log.info("maze seed %d: visit %d (%s, %s) done", seed, visit, phase, name)
    batches = pd.concat(parts, ignore_index=True)[list(BATCH_COLUMNS)]
    return batches, pd.DataFrame(probes, columns=list(PROBE_COLUMNS))


def compile_kernels() -> None:
    """Run every kernel the pipeline calls once on a tiny problem, so Numba compiles and
    caches them (``run_wake``, ``eligibility``, ``run_sleep``; not ``train_batches``,
    which the pipeline does not use)."""
    rng = np.random.default_rng(0)
    params = model.make_params()
    weights = model.init_weights(3, 2, rng, params=params)
    data = (rng.random((2, 20, 3)) < 0.1).astype(np.uint8)
    online.train_online(weights.copy(), params, model.make_rule(), data, rng)
    learning.log_likelihood_is(weights, params, data[0], 3, rng)
    learning.sleep(weights, params, 20, rng)
