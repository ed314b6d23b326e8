"""The ``spiking`` config section: its jobs, and the checks the schema cannot make.

Stairs jobs: one per rule (``baseline``, ``naive``) and point of the learning-rate grid
(``sensitivity.factors`` of ``mu_M`` x the same factors of ``mu_Q``, around
``rule.mu_M``, ``rule.mu_Q``; point ``p<i>`` in row-major order, ``mu_M`` slowest). The
grid's centre (both factors 1) is the default setting: it trains ``stairs.seeds`` seeds
and draws the learning curves; the other points train ``sensitivity.seeds`` seeds.
Maze jobs: one per seed.

Every value is checked by ``workflow/schemas/spiking.schema.yaml``; ``check_config``
adds the cross-field rules, with the key named.
"""

from __future__ import annotations

from typing import NamedTuple

from ..core.errors import ConfigError

RULES = ("baseline", "naive")
IMAGE_PIXELS = {"digits": 64, "mnist": 784}


class Point(NamedTuple):
    """A point of the learning-rate grid."""

    index: int
    mu_M_factor: float
    mu_Q_factor: float
    seeds: int

    @property
    def name(self) -> str:
        return f"p{self.index}"

    @property
    def centre(self) -> bool:
        return self.mu_M_factor == 1.0 and self.mu_Q_factor == 1.0


def grid(section: dict) -> list[Point]:
    """The learning-rate grid of the stairs (see the module docstring)."""
    factors = [float(f) for f in section["stairs"]["sensitivity"]["factors"]]
    points = []
    for a in factors:
        for b in factors:
            centre = a == 1.0 and b == 1.0
            seeds = section["stairs"]["seeds"] if centre else section["stairs"]["sensitivity"]["seeds"]
            points.append(Point(len(points), a, b, int(seeds)))
    return points


def centre(section: dict) -> Point:
    return next(point for point in grid(section) if point.centre)


def stairs_jobs(section: dict) -> list[tuple[str, Point]]:
    """Every (rule, point) stairs job."""
    return [(rule, point) for rule in section["stairs"]["rules"] for point in grid(section)]


def checkpoints(section: dict) -> list[int]:
    """Training batches after which the held-out likelihood is measured (0 first)."""
    total, count = int(section["stairs"]["batches"]), int(section["stairs"]["checkpoints"])
    return sorted({round(total * k / (count - 1)) for k in range(count)})


def bins(duration_ms: float, dt_ms: float) -> float:
    return duration_ms / dt_ms


def _whole(value: float) -> bool:
    return abs(value - round(value)) <= 1e-9 * max(1.0, abs(value)) and round(value) >= 1


def maze_batches(section: dict) -> dict[str, int]:
    """Batches of the maze protocol: familiarisation, one visit, slow time constant, probe
    interval (all from seconds and ``batch_ms``)."""
    maze, batch_s = section["maze"], section["batch_ms"] * 1e-3
    return {key: int(round(maze[f"{key}_s"] / batch_s))
            for key in ("learn", "switch_every", "slow_tau", "probe_every")}


def check_config(section: dict, schema: dict | None = None) -> None:
    """Cross-field rules of the ``spiking`` section (the schema has checked each value).

    Raises
    ------
    ConfigError
        Naming the key: the batch length not a whole number of bins, the visible size
        not that of the data, rates not increasing, a replaced room that does not exist,
        maze durations not whole numbers of batches, an MNIST folder without its files,
        a sensitivity grid without the factor 1.
    """
    network = section["network"]
    dt = float(network["dt_ms"])
    if not _whole(bins(section["batch_ms"], dt)):
        raise ConfigError(f"spiking.batch_ms: {section['batch_ms']} ms is not a whole number "
                          f"of bins of dt = {dt:g} ms (spiking.network.dt_ms)")
    stairs = section["stairs"]
    if stairs["n_visible"] != stairs["n_blocks"] * stairs["block_size"]:
        raise ConfigError(f"spiking.stairs.n_visible: {stairs['n_visible']} visible neurons, but "
                          f"the data have n_blocks x block_size = "
                          f"{stairs['n_blocks'] * stairs['block_size']}")
    low, high = stairs["step_ms"]
    if not low <= high or not low >= dt:
        raise ConfigError(f"spiking.stairs.step_ms: {stairs['step_ms']} must be increasing and at "
                          f"least one bin of {dt:g} ms")
    if not _whole(bins(stairs["raster_ms"], dt)):
        raise ConfigError(f"spiking.stairs.raster_ms: {stairs['raster_ms']} ms is not a whole "
                          f"number of bins of dt = {dt:g} ms")
    if stairs["checkpoints"] - 1 > stairs["batches"]:
        raise ConfigError(f"spiking.stairs.checkpoints: {stairs['checkpoints']} checkpoints need "
                          f"at least {stairs['checkpoints'] - 1} training batches "
                          f"(spiking.stairs.batches is {stairs['batches']})")
    factors = [float(f) for f in stairs["sensitivity"]["factors"]]
    if 1.0 not in factors:
        raise ConfigError(f"spiking.stairs.sensitivity.factors: {factors} must contain 1 (the "
                          f"default rates, which the learning curves show)")
    maze = section["maze"]
    if not maze["low_hz"] < maze["high_hz"]:
        raise ConfigError(f"spiking.maze.low_hz: {maze['low_hz']} Hz must be below high_hz "
                          f"({maze['high_hz']} Hz)")
    pixels = IMAGE_PIXELS[maze["images"]]
    if maze["n_visible"] != pixels:
        raise ConfigError(f"spiking.maze.n_visible: {maze['n_visible']} visible neurons, but the "
                          f"{maze['images']} images have {pixels} pixels")
    n_rooms = maze["rows"] * maze["cols"]
    seen = set()
    for index, room in enumerate(maze["replaced_rooms"]):
        if not 0 <= room < n_rooms:
            raise ConfigError(f"spiking.maze.replaced_rooms[{index}]: room {room} does not exist; "
                              f"the {maze['rows']} x {maze['cols']} maze has rooms 0-{n_rooms - 1}")
        if room in seen:
            raise ConfigError(f"spiking.maze.replaced_rooms[{index}]: room {room} is listed twice")
        seen.add(room)
    batch_s = section["batch_ms"] * 1e-3
    for key in ("learn_s", "switch_every_s", "slow_tau_s", "probe_every_s"):
        if not _whole(maze[key] / batch_s):
            raise ConfigError(f"spiking.maze.{key}: {maze[key]} s is not a whole number of "
                              f"batches of {section['batch_ms']} ms (spiking.batch_ms)")
    if maze["trajectory_batches"] > maze_batches(section)["switch_every"]:
        raise ConfigError(f"spiking.maze.trajectory_batches: {maze['trajectory_batches']} batches "
                          f"exceed one visit of the control maze "
                          f"({maze_batches(section)['switch_every']} batches)")
    if maze["images"] == "mnist":
        folder = maze.get("mnist_folder")
        if not folder:
            raise ConfigError("spiking.maze.mnist_folder: images 'mnist' needs the folder of "
                              "the MNIST IDX files")
        from ..core.datasets import check_mnist_folder

        try:
            check_mnist_folder(folder)
        except ConfigError as error:
            raise ConfigError(f"spiking.maze.mnist_folder: {error}") from None
