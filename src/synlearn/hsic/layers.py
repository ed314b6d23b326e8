"""Layers with a local pull-back, and the MLP of Daruwalla & Lipasti (2024).

The layer protocol (``Layer``) is what the HSIC rule and back-prop need from a layer,
so that a convolutional layer can slot in later:

- ``parameters``: the layer's arrays (float64, C-contiguous), updated in place by the
  optimisers of ``synlearn.hsic.optim``;
- ``forward(inputs) -> (outputs, cache)``, batched over samples (axis 0);
- ``pull_back(cache, cotangent, rows) -> gradients``: the gradients of the layer's own
  parameters for a cotangent on its outputs of the samples ``rows`` of the cache. It is
  local: nothing crosses into the layer below;
- ``backward(cache, cotangent) -> (gradients, input_cotangent)``: the same for every
  sample of the cache, plus the cotangent on the inputs, for back-prop.

``Dense`` (hidden layers) is ``z = LN(ReLU(x W + b))`` with a LayerNorm over the
features without affine parameters (eps 1e-6); ``Readout`` (the output layer) is
``x W + b``. Weights are laid out ``(fan_in, fan_out)`` and initialised truncated
LeCun-normal, biases zero, as the published JAX code does.

References
----------
Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18,
1240348 (Methods: the network and the three-factor update).
Ba, J. L., Kiros, J. R. & Hinton, G. E. (2016). Layer normalization. arXiv:1607.06450.
LeCun, Y. et al. (1998). Efficient backprop. In Neural Networks: Tricks of the Trade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, Sequence

import numpy as np

from . import kernels

FLOAT = np.float64
LAYER_NORM_EPS = 1e-6
TRUNCATION = 2.0  # standard deviations


class Layer(Protocol):
    """What the HSIC rule and back-prop need from a layer (see the module docstring)."""

    @property
    def parameters(self) -> tuple[np.ndarray, ...]: ...

    def forward(self, inputs: np.ndarray) -> tuple[np.ndarray, Any]: ...

    def pull_back(self, cache: Any, cotangent: np.ndarray,
                  rows: slice = slice(None)) -> tuple[np.ndarray, ...]: ...

    def backward(self, cache: Any,
                 cotangent: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]: ...


def _truncated_normal_std(bound: float) -> float:
    """The standard deviation of a standard normal truncated to ``[-bound, bound]``."""
    density = math.exp(-0.5 * bound * bound) / math.sqrt(2.0 * math.pi)
    mass = math.erf(bound / math.sqrt(2.0))
    return math.sqrt(1.0 - 2.0 * bound * density / mass)


def truncated_lecun_normal(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """LeCun-normal weights, truncated at 2 sd and rescaled to variance ``1 / fan_in``.

    As ``jax.nn.initializers.lecun_normal``: a standard normal truncated to [-2, 2]
    (here by redrawing the values outside), divided by its own standard deviation
    (0.8796) and scaled by ``1 / sqrt(fan_in)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    fan_in, fan_out : int

    Returns
    -------
    ndarray, shape (fan_in, fan_out), float64
    """
    values = rng.standard_normal((fan_in, fan_out))
    outside = np.abs(values) > TRUNCATION
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > TRUNCATION
    return values * (1.0 / (_truncated_normal_std(TRUNCATION) * math.sqrt(fan_in)))


def _check_parameters(weight: np.ndarray, bias: np.ndarray) -> None:
    for name, array in (("weight", weight), ("bias", bias)):
        if array.dtype != FLOAT or not array.flags.c_contiguous:
            raise TypeError(f"{name} must be C-contiguous float64, got {array.dtype}")
    if weight.ndim != 2 or bias.shape != (weight.shape[1],):
        raise ValueError(f"weight (fan_in, fan_out) and bias (fan_out,) expected, got "
                         f"{weight.shape} and {bias.shape}")


def _weight_gradient(inputs: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``inputs^T delta``: BLAS for several samples, a Numba loop for one (rank one)."""
    if inputs.shape[0] == 1:
        out = np.empty((inputs.shape[1], delta.shape[1]), dtype=FLOAT)
        kernels.outer(np.ascontiguousarray(inputs[0], dtype=FLOAT),
                      np.ascontiguousarray(delta[0], dtype=FLOAT), out)
        return out
    return inputs.T @ delta


class DenseCache(NamedTuple):
    """What ``Dense.pull_back``/``backward`` need from the forward pass (one row a sample)."""

    inputs: np.ndarray    # (n, fan_in) x
    active: np.ndarray    # (n, fan_out) bool, x W + b > 0
    outputs: np.ndarray   # (n, fan_out) z = LN(ReLU(x W + b))
    inv_std: np.ndarray   # (n,) 1 / sqrt(var(ReLU(.)) + eps)


@dataclass(eq=False)
class _Affine:
    """The parameters every layer here has: ``x W + b``.

    Attributes
    ----------
    weight : ndarray, shape (fan_in, fan_out), float64
    bias : ndarray, shape (fan_out,), float64
    """

    weight: np.ndarray
    bias: np.ndarray

    def __post_init__(self):
        _check_parameters(self.weight, self.bias)

    @property
    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        return (self.weight, self.bias)


@dataclass(eq=False)
class Dense(_Affine):
    """Hidden layer ``z = LN(ReLU(x W + b))``, LayerNorm without affine parameters.

    Attributes
    ----------
    weight : ndarray, shape (fan_in, fan_out), float64
    bias : ndarray, shape (fan_out,), float64
    """

    def forward(self, inputs: np.ndarray) -> tuple[np.ndarray, DenseCache]:
        """``z = LN(ReLU(x W + b))`` for every row of ``inputs`` (n, fan_in).

        The product by BLAS, bias, ReLU and LayerNorm in one Numba pass
        (``kernels.bias_relu_layer_norm``).
        """
        outputs = np.asarray(inputs, dtype=FLOAT) @ self.weight
        active = np.empty(outputs.shape, dtype=np.bool_)
        inv_std = np.empty(outputs.shape[0], dtype=FLOAT)
        kernels.bias_relu_layer_norm(outputs, self.bias, LAYER_NORM_EPS, active, inv_std)
        return outputs, DenseCache(inputs, active, outputs, inv_std)

    @staticmethod
    def _delta(cache: DenseCache, cotangent: np.ndarray, rows: slice) -> np.ndarray:
        """The cotangent on ``x W + b`` from one on ``z``: LayerNorm's and ReLU's VJPs.

        ``d(pre) = ReLU'(pre) (g - mean(g) - z mean(g z)) / sqrt(var + eps)``
        (``kernels.relu_layer_norm_pull_back``).
        """
        g = np.ascontiguousarray(cotangent, dtype=FLOAT)
        outputs = cache.outputs[rows]
        if g.shape != outputs.shape:
            raise ValueError(f"cotangent of shape {g.shape} for outputs of shape {outputs.shape}")
        delta = np.empty(g.shape, dtype=FLOAT)
        kernels.relu_layer_norm_pull_back(outputs, cache.inv_std[rows], cache.active[rows], g,
                                          delta)
        return delta

    def pull_back(self, cache: DenseCache, cotangent: np.ndarray,
                  rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """The gradients of W and b for a cotangent on the outputs of samples ``rows``.

        Daruwalla & Lipasti (2024), Methods: the three-factor update, the global signal
        xi pulled back through this layer's LayerNorm, ReLU and affine map only;
        ``dW = x^T delta`` (an outer product for one sample), ``db = sum delta``.

        Parameters
        ----------
        cache : DenseCache
            From ``forward``.
        cotangent : ndarray, shape (n_rows, fan_out)
            One row per selected sample.
        rows : slice
            The samples of the cache the cotangent belongs to (default: all).

        Returns
        -------
        (ndarray (fan_in, fan_out), ndarray (fan_out,))
        """
        delta = self._delta(cache, cotangent, rows)
        return _weight_gradient(cache.inputs[rows], delta), delta.sum(axis=0)

    def backward(self, cache: DenseCache, cotangent: np.ndarray
                 ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """``pull_back`` over every sample, and the cotangent on the inputs ``delta W^T``."""
        delta = self._delta(cache, cotangent, slice(None))
        return (_weight_gradient(cache.inputs, delta), delta.sum(axis=0)), delta @ self.weight.T


class ReadoutCache(NamedTuple):
    """What ``Readout.pull_back``/``backward`` need: the inputs (n, fan_in)."""

    inputs: np.ndarray


@dataclass(eq=False)
class Readout(_Affine):
    """Output layer ``x W + b`` (the logits).

    Attributes
    ----------
    weight : ndarray, shape (fan_in, fan_out), float64
    bias : ndarray, shape (fan_out,), float64
    """

    def forward(self, inputs: np.ndarray) -> tuple[np.ndarray, ReadoutCache]:
        """``x W + b`` for every row of ``inputs`` (n, fan_in)."""
        logits = inputs @ self.weight
        logits += self.bias
        return logits, ReadoutCache(inputs)

    def pull_back(self, cache: ReadoutCache, cotangent: np.ndarray,
                  rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """``(x^T g, sum g)`` for a cotangent ``g`` on the logits of samples ``rows``."""
        g = np.asarray(cotangent, dtype=FLOAT)
        return _weight_gradient(cache.inputs[rows], g), g.sum(axis=0)

    def backward(self, cache: ReadoutCache, cotangent: np.ndarray
                 ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """``pull_back`` over every sample, and the cotangent on the inputs ``g W^T``."""
        g = np.asarray(cotangent, dtype=FLOAT)
        return (_weight_gradient(cache.inputs, g), g.sum(axis=0)), g @ self.weight.T


@dataclass(eq=False)
class MLP:
    """A stack of layers: hidden layers, then one readout (the logits).

    Attributes
    ----------
    layers : tuple of Layer
    """

    layers: tuple

    @property
    def hidden(self) -> tuple:
        """Every layer but the readout (the ones the HSIC rule trains)."""
        return self.layers[:-1]

    @property
    def readout(self):
        return self.layers[-1]

    @property
    def parameters(self) -> tuple[np.ndarray, ...]:
        """Every layer's parameters, flat, in layer order."""
        return tuple(p for layer in self.layers for p in layer.parameters)

    @property
    def sizes(self) -> tuple[int, ...]:
        """``(d_in, d_1, ..., d_out)``."""
        first = self.layers[0].parameters[0].shape[0]
        return (first, *(layer.parameters[0].shape[1] for layer in self.layers))

    def forward(self, inputs: np.ndarray) -> tuple[tuple[np.ndarray, ...], tuple]:
        """Every layer's outputs (the last are the logits) and caches, batched over rows."""
        x = np.asarray(inputs, dtype=FLOAT)
        outputs, caches = [], []
        for layer in self.layers:
            x, cache = layer.forward(x)
            outputs.append(x)
            caches.append(cache)
        return tuple(outputs), tuple(caches)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """The logits of every row of ``inputs``."""
        return self.forward(inputs)[0][-1]

    def copy(self) -> "MLP":
        """An independent copy (the parameters are copied)."""
        return MLP(tuple(type(layer)(*(p.copy() for p in layer.parameters))
                         for layer in self.layers))


def make_mlp(sizes: Sequence[int], rng: np.random.Generator) -> MLP:
    """An MLP of ``Dense`` hidden layers and a ``Readout``, e.g. ``sizes = (2, 4, 2)``.

    Parameters
    ----------
    sizes : sequence of int
        ``(d_in, d_1, ..., d_out)``, at least two entries.
    rng : numpy.random.Generator
        Draws the weights, layer by layer (truncated LeCun-normal); biases are zero.

    Returns
    -------
    MLP
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"need (d_in, ..., d_out) with positive sizes, got {sizes}")
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        kind = Readout if index == len(sizes) - 2 else Dense
        layers.append(kind(truncated_lecun_normal(rng, fan_in, fan_out),
                           np.zeros(fan_out, dtype=FLOAT)))
    return MLP(tuple(layers))
