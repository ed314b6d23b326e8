"""The novelty maze (Jimenez Rezende & Gerstner 2014, Section 3: novelty detection).

Our definition; the paper's constants other than the 0.01-9 Hz rate range, the 500 s
switching interval and the 784 visible / 30 hidden neurons are not available to us.

Rooms. A ``rows x cols`` grid (default 4 x 4) of rooms, numbered row by row
(``room = row * cols + col``). Every room is one digit image, picked from the image set
(``synlearn.core.datasets.load_digits``: 8x8, 64 visible neurons, by default; 28x28
MNIST, 784, through ``load_mnist``) deterministically from the layout's random stream:
``rng.permutation(n_images)``, the first ``n_rooms`` images fill the target maze's rooms
in order. The control maze is the target maze except its replaced rooms (default rooms
5, 10 and 15: three rooms, none on the same row or column as another): each gets an image
of another digit than the target room it replaces, from the rest of the permutation,
the one of the next 50 such images whose total intensity (expected spike count) is
closest to the replaced image's (``make_layout``): without this, the free energy of an
untrained network already tells rooms apart by their spike count.

Rates. In a room, visible neuron i (pixel i, row-major) fires in every bin independently
with probability ``1 - exp(-rate_i dt)``, ``rate_i = low_hz + (high_hz - low_hz) x_i``,
``x_i`` the pixel intensity in [0, 1] (the loaders scale to [0, 1]; the paper's 0.01 to
9 Hz by default).

Walker. The walker changes rooms only at batch boundaries, so that every batch lies in
one room: after every batch it leaves its room with probability ``leave_probability``
(default 0.2: a mean dwell of 5 batches, 1 s at 200 ms batches) to a neighbour chosen
uniformly among the 2-4 rooms that share a wall with it (no diagonal moves; leaving never
stays); otherwise it stays. Moving to the other maze keeps its position (room index).

Random numbers: ``walk`` draws, per batch boundary, one uniform (leave?) and, if leaving,
one integer (which neighbour); ``visible_batches`` draws ``rng.random((B, T, nV))``, a
neuron spiking iff its uniform is below its probability.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..core.errors import ConfigError
from .model import SPIKE

ROWS, COLS = 4, 4
REPLACED_ROOMS = (5, 10, 15)
LOW_HZ, HIGH_HZ = 0.01, 9.0
LEAVE_PROBABILITY = 0.2
CANDIDATES = 50


class Layout(NamedTuple):
    """Which image fills each room of the target and the control maze.

    Attributes
    ----------
    target, control : ndarray of int64, shape (n_rooms,)
        Index into the image set of each room's image.
    replaced : ndarray of bool, shape (n_rooms,)
        The rooms where the control maze differs.
    rows, cols : int
    """

    target: np.ndarray
    control: np.ndarray
    replaced: np.ndarray
    rows: int
    cols: int


def neighbours(room: int, rows: int = ROWS, cols: int = COLS) -> list[int]:
    """The rooms that share a wall with ``room`` (up, down, left, right), increasing."""
    row, col = divmod(int(room), cols)
    found = []
    for d_row, d_col in ((-1, 0), (0, -1), (0, 1), (1, 0)):
        r, c = row + d_row, col + d_col
        if 0 <= r < rows and 0 <= c < cols:
            found.append(r * cols + c)
    return sorted(found)


def make_layout(rng: np.random.Generator, labels, replaced_rooms=REPLACED_ROOMS,
                rows: int = ROWS, cols: int = COLS, intensity=None) -> Layout:
    """The target and control mazes' images (see the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
        The layout's stream (one ``permutation`` of the image indices).
    labels : array of int, shape (n_images,)
        The digit of every image.
    replaced_rooms : sequence of int
        Rooms of the control maze that differ from the target maze.
    rows, cols : int
    intensity : array, shape (n_images,), optional
        Total intensity of every image. With it, a replaced room gets, among the next
        ``CANDIDATES`` images of another digit in the permutation, the one whose total
        intensity is closest to the replaced image's (first in permutation order on a
        tie), so that the novel room is not told apart by its spike count alone.

    Returns
    -------
    Layout

    Raises
    ------
    ConfigError
        A replaced room outside the grid or listed twice, or too few images.
    """
    labels = np.asarray(labels)
    n_rooms = rows * cols
    replaced = np.zeros(n_rooms, dtype=bool)
    for index, room in enumerate(replaced_rooms):
        if not 0 <= int(room) < n_rooms:
            raise ConfigError(f"replaced_rooms[{index}]: room {room} does not exist; rooms are "
                              f"0-{n_rooms - 1} of the {rows} x {cols} grid")
        if replaced[int(room)]:
            raise ConfigError(f"replaced_rooms[{index}]: room {room} is listed twice")
        replaced[int(room)] = True
    order = rng.permutation(labels.size)
    if labels.size < n_rooms + replaced.sum():
        raise ConfigError(f"{labels.size} images are too few for {n_rooms} rooms")
    target = order[:n_rooms].astype(np.int64)
    control = target.copy()
    spare = list(order[n_rooms:])
    totals = None if intensity is None else np.asarray(intensity, dtype=np.float64)
    for room in np.flatnonzero(replaced):
        options = [i for i, image in enumerate(spare) if labels[image] != labels[target[room]]]
        if totals is not None:  # the closest total intensity: the same expected spike count
            options = options[:CANDIDATES]
            options.sort(key=lambda i: abs(totals[spare[i]] - totals[target[room]]))
        control[room] = spare.pop(options[0])
    return Layout(target, control, replaced, rows, cols)


def room_rates(images, low_hz: float = LOW_HZ, high_hz: float = HIGH_HZ) -> np.ndarray:
    """Visible rates (Hz) of rooms: ``low_hz + (high_hz - low_hz) x`` per pixel.

    Parameters
    ----------
    images : array, shape (n_rooms, height, width) or (n_rooms, n_pixels)
        Intensities in [0, 1].

    Returns
    -------
    ndarray, shape (n_rooms, n_pixels)
    """
    x = np.asarray(images, dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    if x.min() < 0 or x.max() > 1:
        raise ConfigError("pixel intensities must lie in [0, 1]")
    if not 0 < low_hz < high_hz:
        raise ConfigError(f"rates must satisfy 0 < low_hz < high_hz, got {low_hz}, {high_hz}")
    return low_hz + (high_hz - low_hz) * x


def walk(rng: np.random.Generator, n_batches: int, start: int,
         leave_probability: float = LEAVE_PROBABILITY, rows: int = ROWS,
         cols: int = COLS) -> np.ndarray:
    """The walker's room in each of ``n_batches`` batches, starting in ``start``.

    The first batch is in ``start``; before each later batch the walker leaves with
    probability ``leave_probability`` to a uniformly chosen neighbour.

    Returns
    -------
    ndarray of int64, shape (n_batches,)
    """
    rooms = np.empty(int(n_batches), dtype=np.int64)
    room = int(start)
    for b in range(int(n_batches)):
        if b > 0 and rng.random() < leave_probability:
            options = neighbours(room, rows, cols)
            room = options[int(rng.integers(len(options)))]
        rooms[b] = room
    return rooms


def visible_batches(rng: np.random.Generator, rooms, rates_hz, n_bins: int,
                    dt_ms: float = 1.0) -> np.ndarray:
    """Visible rasters of the batches spent in ``rooms``: Bernoulli per bin and neuron.

    Parameters
    ----------
    rng : numpy.random.Generator
        One ``random((B, n_bins, nV))`` draw.
    rooms : array of int, shape (B,)
    rates_hz : array, shape (n_rooms, nV)
        ``room_rates`` of the maze the walker is in.
    n_bins : int
    dt_ms : float

    Returns
    -------
    ndarray of uint8, shape (B, n_bins, nV)
    """
    p = -np.expm1(-np.asarray(rates_hz, dtype=np.float64) * dt_ms * 1e-3)
    rooms = np.asarray(rooms, dtype=np.int64)
    uniforms = rng.random((rooms.size, int(n_bins), p.shape[1]))
    return (uniforms < p[rooms][:, None, :]).astype(SPIKE)


def expected_spikes(rates_hz, batch_ms: float) -> float:
    """Mean visible spikes per batch over the rooms (rates in Hz, batch in ms)."""
    return float(np.mean(np.sum(np.asarray(rates_hz), axis=1)) * batch_ms * 1e-3)


def image_distance(rates_a, rates_b, batch_ms: float) -> float:
    """Expected-count difference between two rooms' rasters: sum_i |r_a - r_b| T (spikes)."""
    return float(np.sum(np.abs(np.asarray(rates_a) - np.asarray(rates_b))) * batch_ms * 1e-3)


def is_whole(value: float) -> bool:
    return math.isclose(value, round(value), rel_tol=0, abs_tol=1e-9)
