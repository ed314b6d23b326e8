"""Convolutional blocks for the HSIC rule and back-prop: the CIFAR-10 CNN of Daruwalla &
Lipasti (2024).

The published CNN: Conv 3x3 (stride 1, padding 1) 3 -> 128, ReLU, LayerNorm over the
channels at each pixel (no affine parameters, eps 1e-6), average pool 2x2 stride 2; Conv
3x3 128 -> 256, the same pattern, pool; flatten (8 x 8 x 256 = 16384); Dense 10. The
HSIC rule taps each conv block: its activation flattened to ``(B, H*W*C)`` is the block's
``Z`` (so ``s_z = sigma_z sqrt(H*W*C)``, as ``objective.global_signal`` computes from the
row length) and ``xi`` (one value per unit) is pulled back through that block alone.

Layout and conventions
----------------------
- Activations are NHWC, passed between layers flattened to rows ``(n, H*W*C)`` in
  ``(h, w, c)`` order, so that every layer speaks the ``Layer`` protocol of
  ``synlearn.hsic.layers`` (2-D arrays, one row a sample) and ``training.bio_window_step``
  / ``backprop_gradients`` / ``train_stream`` take a ``CNN`` unchanged. The network's
  input is the standardised image flattened the same way (``synlearn.hsic.cifar``).
- NHWC makes im2col cheap: the 3x3 patch of a pixel is three runs of ``3 C`` contiguous
  values of the zero-padded input (one per kernel row), so ``im2col`` is one strided copy
  with a contiguous inner run; its rows are pixels ``(n, h, w)``, its columns
  ``(kh, kw, c_in)``. The convolution is then one BLAS product ``columns @ W`` with
  ``W`` of shape ``(9 C_in, C_out)`` (the HWIO kernel of the published Flax code,
  flattened: row ``(kh * 3 + kw) * C_in + c_in``), and its output rows are again pixels,
  so bias, ReLU and the per-pixel LayerNorm are the MLP's own Numba passes
  (``kernels.bias_relu_layer_norm`` / ``relu_layer_norm_pull_back``) over ``n H W`` rows
  of ``C_out``.
- Back-prop: ``dW = columns^T delta`` and ``d columns = delta W^T`` (BLAS), then
  ``col2im`` (nine shifted slice additions, the adjoint of ``im2col``); for fewer than
  ``COL2IM_MIN_CHANNELS`` input channels (the first block, 3) the input cotangent is the
  transposed convolution ``im2col(delta) @ flip(W)`` instead (the same multiply-adds, no
  slice additions over runs of 3 values).
- The HSIC pull-back of the current sample uses that sample's ``H W`` rows of the cached
  columns: ``dW = columns_N^T delta_N``, one product of inner size ``H W``.
- Where the tap sits. ``tap="after_pool"`` (default, the configuration behind the
  figures): a block is conv, ReLU, LN, pool and its pooled output is both the next
  layer's input and the tapped ``Z``. ``tap="before_pool"`` (the released config): a
  block's output is its LayerNorm output before pooling, and the pooling moves to the
  start of the next layer (``ConvBlock(pool_input=True)``, and ``PooledReadout`` for the
  Dense 10). The network computes the same function either way; only which activation
  the rule sees (and so the block a pull-back crosses) differs.
- Weights are truncated LeCun-normal with ``fan_in = 9 C_in`` (Flax's Conv default,
  ``layers.truncated_lecun_normal``), biases zero; float64, C-contiguous, updated in place
  by ``synlearn.hsic.optim``.

References
----------
Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18,
1240348 (CIFAR-10 experiments; the network read from the public code, darsnack
"biological-hsic").
Chellapilla, K., Puri, S. & Simard, P. (2006). High performance convolutional neural
networks for document processing (im2col + GEMM).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import kernels
from .layers import FLOAT, LAYER_NORM_EPS, MLP, Readout, ReadoutCache, truncated_lecun_normal

KERNEL = 3  # 3x3 kernels, stride 1, padding 1 (the output keeps the input's size)
TAPS = ("after_pool", "before_pool")
COL2IM_MIN_CHANNELS = 32  # below: the input cotangent as a transposed convolution
PAPER_CHANNELS = (128, 256)
CIFAR_SHAPE = (32, 32, 3)


# -------------------------------------------------------------------------------------
# The array operations (NHWC), each with a direct-loop twin in tests/hsic/conv_reference.py


def im2col(images: np.ndarray) -> np.ndarray:
    """The 3x3 patches (padding 1) of every pixel, one row a pixel.

    Parameters
    ----------
    images : ndarray, shape (n, H, W, C)

    Returns
    -------
    ndarray, shape (n H W, 9 C), float64, C-contiguous
        Row ``(i h_max + h) w_max + w`` holds ``x[i, h + kh - 1, w + kw - 1, c]`` (zero
        outside the image) at column ``(kh * 3 + kw) C + c``.
    """
    n, height, width, channels = images.shape
    padded = np.zeros((n, height + 2, width + 2, channels), dtype=FLOAT)
    padded[:, 1:-1, 1:-1, :] = images
    s_n, s_h, s_w, s_c = padded.strides
    # (n, h, w, kh, [kw, c] as one run of 3 C): kw and c are contiguous in the padded row
    patches = as_strided(padded, shape=(n, height, width, KERNEL, KERNEL * channels),
                         strides=(s_n, s_h, s_w, s_h, s_c), writeable=False)
    columns = np.empty((n, height, width, KERNEL, KERNEL * channels), dtype=FLOAT)
    columns[...] = patches
    return columns.reshape(n * height * width, KERNEL * KERNEL * channels)


def col2im(columns: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    """The adjoint of ``im2col``: add every patch entry back onto its input pixel.

    Parameters
    ----------
    columns : ndarray, shape (n H W, 9 C)
        A cotangent on ``im2col``'s output.
    shape : (n, H, W, C)
        The images' shape.

    Returns
    -------
    ndarray, shape (n, H, W, C), float64
    """
    n, height, width, channels = shape
    blocks = columns.reshape(n, height, width, KERNEL, KERNEL, channels)
    padded = np.zeros((n, height + 2, width + 2, channels), dtype=FLOAT)
    for kh in range(KERNEL):
        for kw in range(KERNEL):
            padded[:, kh:kh + height, kw:kw + width, :] += blocks[:, :, :, kh, kw, :]
    return padded[:, 1:-1, 1:-1, :]


def avg_pool(images: np.ndarray) -> np.ndarray:
    """Average pool 2x2, stride 2.

    Parameters
    ----------
    images : ndarray, shape (n, H, W, C), H and W even

    Returns
    -------
    ndarray, shape (n, H/2, W/2, C), float64
    """
    n, height, width, channels = images.shape
    rows = images[:, 0::2] + images[:, 1::2]                        # (n, H/2, W, C)
    pairs = rows.reshape(n, height // 2, width // 2, 2 * channels)  # w pairs side by side
    out = pairs[..., :channels] + pairs[..., channels:]
    out *= 0.25
    return out


def avg_pool_backward(cotangent: np.ndarray) -> np.ndarray:
    """The adjoint of ``avg_pool``: each output's cotangent / 4 on its 2x2 inputs.

    Parameters
    ----------
    cotangent : ndarray, shape (n, H/2, W/2, C)

    Returns
    -------
    ndarray, shape (n, H, W, C), float64, C-contiguous
    """
    n, half_h, half_w, channels = cotangent.shape
    quarter = 0.25 * np.asarray(cotangent, dtype=FLOAT)
    spread = np.broadcast_to(quarter[:, :, None, :, None, :],
                             (n, half_h, 2, half_w, 2, channels))
    return np.ascontiguousarray(spread).reshape(n, 2 * half_h, 2 * half_w, channels)


# -------------------------------------------------------------------------------------
# The layers


class ConvCache(NamedTuple):
    """What ``ConvBlock.pull_back``/``backward`` need from the forward pass.

    Rows of the per-pixel arrays are pixels ``(sample, h, w)``, sample-major, so the
    rows of samples ``a:b`` are ``a H W : b H W``.
    """

    count: int            # n, the number of samples
    columns: np.ndarray   # (n H W, 9 C_in) im2col of the (pooled) input
    active: np.ndarray    # (n H W, C_out) bool, conv + b > 0
    normed: np.ndarray    # (n H W, C_out) LN(ReLU(conv + b)), before any output pooling
    inv_std: np.ndarray   # (n H W,) 1 / sqrt(var + eps) per pixel


@dataclass(eq=False)
class ConvBlock:
    """``[pool] -> conv 3x3 -> ReLU -> LayerNorm over channels -> [pool]``, rows in, rows out.

    Attributes
    ----------
    weight : ndarray, shape (9 C_in, C_out), float64
        The 3x3 kernel, rows ``(kh, kw, c_in)`` (see the module docstring).
    bias : ndarray, shape (C_out,), float64
    height, width : int
        The convolution's spatial size (after the input pooling, if any).
    pool_input : bool
        Average-pool the input 2x2 first (the ``before_pool`` tap's second block).
    pool_output : bool
        Average-pool the LayerNorm output 2x2 (the ``after_pool`` tap, default).
    propagate : bool
        Whether ``backward`` computes the cotangent on the inputs; ``make_cnn`` turns it
        off for the first block, whose input cotangent (on the image) back-prop discards
        (``backward`` then returns None in its place).
    """

    weight: np.ndarray
    bias: np.ndarray
    height: int
    width: int
    pool_input: bool = False
    pool_output: bool = True
    propagate: bool = True

    def __post_init__(self):
        for name, array in (("weight", self.weight), ("bias", self.bias)):
            if array.dtype != FLOAT or not array.flags.c_contiguous:
                raise TypeError(f"{name} must be C-contiguous float64, got {array.dtype}")
        if (self.weight.ndim != 2 or self.weight.shape[0] % (KERNEL * KERNEL)
                or self.bias.shape != (self.weight.shape[1],)):
            raise ValueError(f"weight (9 C_in, C_out) and bias (C_out,) expected, got "
                             f"{self.weight.shape} and {self.bias.shape}")
        self.height, self.width = int(self.height), int(self.width)
        if self.height < 1 or self.width < 1:
            raise ValueError(f"height and width must be positive, got {self.height}x{self.width}")
        if self.pool_output and (self.height % 2 or self.width % 2):
            raise ValueError(f"2x2 pooling needs an even size, got {self.height}x{self.width}")

    @property
    def parameters(self) -> tuple[np.ndarray, np.ndarray]:
        return (self.weight, self.bias)

    @property
    def in_channels(self) -> int:
        return self.weight.shape[0] // (KERNEL * KERNEL)

    @property
    def out_channels(self) -> int:
        return self.weight.shape[1]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one input sample (before the input pooling, if any)."""
        scale = 2 if self.pool_input else 1
        return (scale * self.height, scale * self.width, self.in_channels)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one output sample (after the output pooling, if any)."""
        scale = 2 if self.pool_output else 1
        return (self.height // scale, self.width // scale, self.out_channels)

    def forward(self, inputs: np.ndarray) -> tuple[np.ndarray, ConvCache]:
        """The block on every row of ``inputs`` (n, H_in W_in C_in), NHWC-flattened.

        im2col and one BLAS product, then bias, ReLU and the per-pixel LayerNorm in one
        Numba pass (``kernels.bias_relu_layer_norm``), then the 2x2 pooling if any.

        Returns
        -------
        outputs : ndarray, shape (n, prod(output_shape))
        cache : ConvCache
        """
        x = np.asarray(inputs, dtype=FLOAT)
        n = x.shape[0]
        if x.ndim != 2 or x.shape[1] != int(np.prod(self.input_shape)):
            raise ValueError(f"inputs (n, {int(np.prod(self.input_shape))}) expected "
                             f"(NHWC {self.input_shape} flattened), got {x.shape}")
        images = x.reshape(n, *self.input_shape)
        if self.pool_input:
            images = avg_pool(images)
        columns = im2col(images)
        normed = columns @ self.weight                       # (n H W, C_out)
        active = np.empty(normed.shape, dtype=np.bool_)
        inv_std = np.empty(normed.shape[0], dtype=FLOAT)
        kernels.bias_relu_layer_norm(normed, self.bias, LAYER_NORM_EPS, active, inv_std)
        cache = ConvCache(n, columns, active, normed, inv_std)
        if not self.pool_output:
            return normed.reshape(n, -1), cache
        pooled = avg_pool(normed.reshape(n, self.height, self.width, self.out_channels))
        return pooled.reshape(n, -1), cache

    def _delta(self, cache: ConvCache, cotangent: np.ndarray, pixels: slice,
               count: int) -> np.ndarray:
        """The cotangent on ``conv + b`` (rows ``pixels``) from one on the block's outputs
        of ``count`` samples: the pooling's, LayerNorm's and ReLU's VJPs."""
        g = np.asarray(cotangent, dtype=FLOAT)
        size = int(np.prod(self.output_shape))
        if g.shape != (count, size):
            raise ValueError(f"cotangent of shape {g.shape} for outputs of shape "
                             f"{(count, size)}")
        if self.pool_output:
            g = avg_pool_backward(g.reshape(count, *self.output_shape))
        g = np.ascontiguousarray(g).reshape(-1, self.out_channels)
        delta = np.empty(g.shape, dtype=FLOAT)
        kernels.relu_layer_norm_pull_back(cache.normed[pixels], cache.inv_std[pixels],
                                          cache.active[pixels], g, delta)
        return delta

    def _pixels(self, cache: ConvCache, rows: slice) -> tuple[slice, int]:
        start, stop, step = rows.indices(cache.count)
        if step != 1:
            raise ValueError(f"rows must be a contiguous slice, got {rows}")
        stop = max(start, stop)
        area = self.height * self.width
        return slice(start * area, stop * area), stop - start

    def pull_back(self, cache: ConvCache, cotangent: np.ndarray,
                  rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """The gradients of W and b for a cotangent on the outputs of samples ``rows``.

        Daruwalla & Lipasti (2024), Methods: the three-factor update, the global signal
        xi (one value per unit of the tapped activation) pulled back through this
        block's pooling (if after it), LayerNorm, ReLU and convolution only:
        ``dW = columns_rows^T delta``, ``db = sum delta`` over the rows' pixels.

        Parameters
        ----------
        cache : ConvCache
            From ``forward``.
        cotangent : ndarray, shape (n_rows, prod(output_shape))
        rows : slice
            The samples of the cache the cotangent belongs to (default: all), step 1.

        Returns
        -------
        (ndarray (9 C_in, C_out), ndarray (C_out,))
        """
        pixels, count = self._pixels(cache, rows)
        delta = self._delta(cache, cotangent, pixels, count)
        return cache.columns[pixels].T @ delta, delta.sum(axis=0)

    def backward(self, cache: ConvCache, cotangent: np.ndarray
                 ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """``pull_back`` over every sample, and the cotangent on the inputs.

        ``d columns = delta W^T`` (BLAS), ``col2im``, then the input pooling's VJP;
        None instead of the input cotangent if ``propagate`` is off.
        """
        n = cache.count
        delta = self._delta(cache, cotangent, slice(None), n)
        gradients = (cache.columns.T @ delta, delta.sum(axis=0))
        if not self.propagate:
            return gradients, None
        if self.in_channels < COL2IM_MIN_CHANNELS:
            # col2im's slice additions run over C_in contiguous values: at C_in = 3 they
            # cost more than the product. Instead, the transposed convolution: im2col of
            # delta (runs of 3 C_out) times the flipped kernel, the same multiply-adds.
            flipped = self.weight.reshape(KERNEL, KERNEL, self.in_channels, self.out_channels)
            flipped = np.ascontiguousarray(flipped[::-1, ::-1].transpose(0, 1, 3, 2))
            images = im2col(delta.reshape(n, self.height, self.width, self.out_channels)) \
                @ flipped.reshape(-1, self.in_channels)
            images = images.reshape(n, self.height, self.width, self.in_channels)
        else:
            images = col2im(delta @ self.weight.T,
                            (n, self.height, self.width, self.in_channels))
        if self.pool_input:
            images = avg_pool_backward(images)
        return gradients, np.ascontiguousarray(images).reshape(n, -1)


@dataclass(eq=False)
class PooledReadout(Readout):
    """Average pool 2x2, flatten, ``x W + b``: the Dense 10 after a ``before_pool`` block.

    Attributes
    ----------
    weight : ndarray, shape (H/2 W/2 C, classes), float64
    bias : ndarray, shape (classes,), float64
    height, width : int
        The spatial size of the input, before pooling.
    """

    height: int = 0
    width: int = 0

    def __post_init__(self):
        super().__post_init__()
        area = (int(self.height) // 2) * (int(self.width) // 2)
        if self.height % 2 or self.width % 2 or area < 1 or self.weight.shape[0] % area:
            raise ValueError(f"an even {self.height}x{self.width} input whose pooled area "
                             f"divides fan_in {self.weight.shape[0]} expected")

    @property
    def channels(self) -> int:
        return self.weight.shape[0] // ((self.height // 2) * (self.width // 2))

    def forward(self, inputs: np.ndarray) -> tuple[np.ndarray, ReadoutCache]:
        x = np.asarray(inputs, dtype=FLOAT)
        pooled = avg_pool(x.reshape(x.shape[0], self.height, self.width, self.channels))
        return super().forward(pooled.reshape(x.shape[0], -1))

    def backward(self, cache: ReadoutCache, cotangent: np.ndarray
                 ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        gradients, pooled = super().backward(cache, cotangent)
        n = pooled.shape[0]
        g = avg_pool_backward(pooled.reshape(n, self.height // 2, self.width // 2,
                                             self.channels))
        return gradients, g.reshape(n, -1)


@dataclass(eq=False)
class CNN(MLP):
    """A stack of ``ConvBlock``\\ s and a readout, with ``MLP``'s interface.

    ``forward``, ``hidden``, ``readout`` and ``parameters`` are ``MLP``'s, so
    ``training.bio_window_step``, ``backprop_gradients`` and ``train_stream`` take it;
    ``predict`` runs in chunks of ``chunk`` samples (a paper-scale forward of the
    50000 training images at once would need ~50 GB), ``copy`` keeps the geometry.

    Attributes
    ----------
    layers : tuple
    chunk : int
    """

    chunk: int = 64

    @property
    def sizes(self) -> tuple[int, ...]:
        """``(d_in, d_1, ..., d_out)``: the flattened sizes between the layers."""
        first = self.layers[0]
        sizes = [int(np.prod(first.input_shape))]
        for layer in self.layers:
            sizes.append(int(np.prod(layer.output_shape)) if isinstance(layer, ConvBlock)
                         else layer.weight.shape[1])
        return tuple(sizes)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """The logits of every row of ``inputs``, ``chunk`` rows at a time."""
        x = np.asarray(inputs, dtype=FLOAT)
        if x.shape[0] <= self.chunk:
            return self.forward(x)[0][-1]
        return np.concatenate([self.forward(x[start:start + self.chunk])[0][-1]
                               for start in range(0, x.shape[0], self.chunk)])

    def copy(self) -> "CNN":
        """An independent copy (the parameters are copied, the geometry kept)."""
        return CNN(tuple(dataclasses.replace(layer, weight=layer.weight.copy(),
                                             bias=layer.bias.copy())
                         for layer in self.layers), self.chunk)


def make_cnn(rng: np.random.Generator, channels: Sequence[int] = PAPER_CHANNELS,
             image_shape: tuple[int, int, int] = CIFAR_SHAPE, n_classes: int = 10,
             tap: str = "after_pool", chunk: int = 64) -> CNN:
    """The CIFAR-10 CNN of Daruwalla & Lipasti (2024), channel widths configurable.

    ``channels = (128, 256)`` is the published network; a reduced study uses e.g.
    ``(16, 32)``. Every block is conv 3x3 -> ReLU -> LayerNorm -> average pool 2x2,
    then Dense ``n_classes`` on the flattened ``H/2^k x W/2^k x C_k``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the weights block by block, then the readout's (truncated LeCun-normal,
        ``fan_in = 9 C_in`` for a conv); biases are zero.
    channels : sequence of int
        Output channels of each conv block.
    image_shape : (H, W, C)
        H and W divisible by ``2 ** len(channels)``.
    n_classes : int
    tap : {"after_pool", "before_pool"}
        Which activation of a block the HSIC rule sees (module docstring).
    chunk : int
        ``CNN.predict``'s chunk size.

    Returns
    -------
    CNN
    """
    if tap not in TAPS:
        raise ValueError(f"unknown tap {tap!r}; expected one of {TAPS}")
    channels = tuple(int(c) for c in channels)
    height, width, c_in = (int(v) for v in image_shape)
    if not channels or min(channels) < 1 or c_in < 1 or n_classes < 1:
        raise ValueError(f"positive channel counts expected, got {channels}, {image_shape}")
    if height % (2 ** len(channels)) or width % (2 ** len(channels)) or height < 1:
        raise ValueError(f"{height}x{width} is not divisible by 2^{len(channels)}")
    after = tap == "after_pool"
    layers = []
    for index, c_out in enumerate(channels):
        layers.append(ConvBlock(truncated_lecun_normal(rng, KERNEL * KERNEL * c_in, c_out),
                                np.zeros(c_out, dtype=FLOAT), height, width,
                                pool_input=not after and index > 0, pool_output=after,
                                propagate=index > 0))
        c_in = c_out
        height, width = height // 2, width // 2
    weight = truncated_lecun_normal(rng, height * width * c_in, n_classes)
    bias = np.zeros(n_classes, dtype=FLOAT)
    readout = (Readout(weight, bias) if after
               else PooledReadout(weight, bias, 2 * height, 2 * width))
    return CNN(tuple(layers) + (readout,), int(chunk))


def multiply_adds(network: CNN) -> dict[str, int]:
    """Multiply-adds per sample of each product: forward, ``dW`` and ``d columns``.

    Returns
    -------
    dict
        ``forward``: the conv and readout products of one sample's forward pass;
        ``weight_gradient``: ``columns^T delta`` of one sample, every layer;
        ``input_gradient``: ``delta W^T`` of one sample for every layer but the first.
    """
    forward = weight = inputs = 0
    for index, layer in enumerate(network.layers):
        if isinstance(layer, ConvBlock):
            count = layer.height * layer.width * layer.weight.size
        else:
            count = layer.weight.size
        forward += count
        weight += count
        inputs += count if index else 0
    return {"forward": forward, "weight_gradient": weight, "input_gradient": inputs}
