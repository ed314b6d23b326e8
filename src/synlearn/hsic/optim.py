"""AdamW and plain SGD over a tuple of parameter arrays, updated in place.

Daruwalla & Lipasti (2024) train with optax's AdamW: betas 0.9/0.99, eps 1e-8 (added
to ``sqrt(v_hat)``), weight decay 1e-4 applied to every parameter (biases too), no
schedule and no clipping. An optimiser is a frozen dataclass of hyperparameters with
``init(parameters) -> state`` and ``step(parameters, gradients, state) -> state``; the
parameters are changed in place, the state is returned anew (its arrays are reused).

References
----------
Loshchilov, I. & Hutter, F. (2019). Decoupled weight decay regularization. ICLR.
Kingma, D. P. & Ba, J. (2015). Adam: a method for stochastic optimization. ICLR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from . import kernels

FLOAT = np.float64


def _check(parameters: Sequence[np.ndarray], gradients: Sequence[np.ndarray]) -> None:
    if len(parameters) != len(gradients):
        raise ValueError(f"{len(parameters)} parameters but {len(gradients)} gradients")


class AdamWState(NamedTuple):
    """AdamW moments, one pair per parameter array (float64), and the step count."""

    count: int
    first: tuple[np.ndarray, ...]
    second: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class AdamW:
    """AdamW (Loshchilov & Hutter 2019) as ``optax.adamw``.

    ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
    ``p <- p - lr (m_hat / (sqrt(v_hat) + eps) + wd p)`` with
    ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``, t the step number from 1.
    """

    learning_rate: float
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 1e-4

    def init(self, parameters: Sequence[np.ndarray]) -> AdamWState:
        """Zero moments shaped like ``parameters``."""
        return AdamWState(0, tuple(np.zeros(p.size, dtype=FLOAT) for p in parameters),
                          tuple(np.zeros(p.size, dtype=FLOAT) for p in parameters))

    def step(self, parameters: Sequence[np.ndarray], gradients: Sequence[np.ndarray],
             state: AdamWState) -> AdamWState:
        """One step: ``parameters`` in place (fused Numba loop), the new state returned.

        Parameters
        ----------
        parameters : sequence of ndarray
            C-contiguous float64 arrays, changed in place.
        gradients : sequence of ndarray
            Same shapes.
        state : AdamWState

        Returns
        -------
        AdamWState
        """
        _check(parameters, gradients)
        count = state.count + 1
        correction1 = 1.0 - self.beta1 ** count
        correction2 = 1.0 - self.beta2 ** count
        for p, g, m, v in zip(parameters, gradients, state.first, state.second):
            if not p.flags.c_contiguous:
                raise TypeError("AdamW updates C-contiguous parameter arrays in place")
            kernels.adamw_step(p.reshape(-1), np.ascontiguousarray(g, dtype=FLOAT).reshape(-1),
                               m, v, float(self.learning_rate), float(self.beta1),
                               float(self.beta2), float(self.eps), float(self.weight_decay),
                               correction1, correction2)
        return AdamWState(count, state.first, state.second)


class SGDState(NamedTuple):
    """Plain SGD keeps only the step count."""

    count: int


@dataclass(frozen=True)
class SGD:
    """Plain stochastic gradient descent, ``p <- p - lr g``."""

    learning_rate: float

    def init(self, parameters: Sequence[np.ndarray]) -> SGDState:
        return SGDState(0)

    def step(self, parameters: Sequence[np.ndarray], gradients: Sequence[np.ndarray],
             state: SGDState) -> SGDState:
        """One step, ``parameters`` in place."""
        _check(parameters, gradients)
        for p, g in zip(parameters, gradients):
            p -= self.learning_rate * g
        return SGDState(state.count + 1)
