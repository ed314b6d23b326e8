"""The Bayesian readout as a reservoirpy node, in place of ``reservoirpy.nodes.LMS``.

An optional extra: this module needs reservoirpy >= 0.4 (``pip install reservoirpy``;
written against 0.4.2, whose nodes subclass ``reservoirpy.node.OnlineNode`` and train
online with ``partial_fit``; 0.3's ``Node(forward=..., train=...)`` API is not
supported). Nothing else in synlearn imports it, so synlearn runs without reservoirpy.

    from reservoirpy.nodes import Reservoir
    from synlearn.reservoir.reservoirpy_nodes import BayesianReadoutNode

    model = Reservoir(100, lr=0.3, sr=0.9, seed=0) >> BayesianReadoutNode(eta0=1.0)
    predictions = model.partial_fit(X, Y)  # X (T, n_inputs), Y (T, n_outputs): online
    model.fit(X, Y)                        # the same, from the prior again

The node is a ``synlearn.reservoir.BayesianReadout`` with one run per output dimension
(all reading the same input), so its weights are those of that readout fed the same
states, to the last bit; ``node.readout`` is that readout.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import ConfigError
from .readouts import BayesianReadout

try:
    import reservoirpy
    from reservoirpy.mat_gen import zeros
    from reservoirpy.node import OnlineNode
    from reservoirpy.utils.data_validation import check_timeseries
except ImportError as error:  # not installed, or the 0.3 API
    raise ImportError(
        "synlearn.reservoir.reservoirpy_nodes needs reservoirpy >= 0.4 "
        f"(pip install 'reservoirpy>=0.4'): {error}"
    ) from error

__all__ = ["BayesianReadoutNode"]


class BayesianReadoutNode(OnlineNode):
    """An online readout learning with the per-synapse Bayesian rule.

    A drop-in for ``reservoirpy.nodes.LMS``: the same constructor arguments (with the
    rate ``eta0`` for ``learning_rate``), the same ``Wout`` ``(input_dim, output_dim)``
    and ``bias`` ``(output_dim,)`` attributes, online training by ``partial_fit`` (on
    the node, or on a model ``Reservoir >> node``) and ``fit``. Each weight learns
    ``w_i <- w_i + alpha_i e s_i`` with its own rate ``1/alpha_i = 1/eta0 + sum s_i^2``
    (see ``BayesianReadout``); with ``fit_bias`` the bias is one more synapse, from an
    input that is always 1, with its own rate.

    Differences from LMS: ``fit`` starts again from the prior (``Wout`` and ``bias`` as
    given to the constructor; LMS's ``fit`` continues from its current weights), and the
    prediction returned by a learning step is taken after the whole update (LMS adds the
    bias before its update).

    Parameters
    ----------
    eta0 : float
        Initial per-synapse rate (> 0): the prior variance of a weight over the target
        noise variance. 1 is a unit prior (ridge-like); larger learns faster at first.
    forgetting_tau : float, optional
        Time constant of the prior drift, in units of ``step_time`` (see
        ``BayesianReadout``); ``None`` for none.
    step_time : float
        Time between two learning steps (default 1: ``forgetting_tau`` in steps).
    Wout : callable or array of shape (input_dim, output_dim)
        Initial weights (the prior mean), or an initializer ``Wout(input_dim,
        output_dim)``; zeros by default.
    bias : callable or array of shape (output_dim,)
        Initial bias, or an initializer ``bias(output_dim)``; zeros by default.
    fit_bias : bool
        Whether the bias learns (if not, it stays at its initial value).
    input_dim, output_dim : int, optional
        Inferred at the first call if not given.
    name : str, optional

    Attributes
    ----------
    Wout, bias : numpy.ndarray
        The learned weights (read-only views of the readout's live state).
    alpha : numpy.ndarray of shape (input_dim, output_dim)
        The per-synapse rates of ``Wout`` (``alpha_bias`` those of the bias).
    readout : BayesianReadout
        The synlearn readout doing the work (``None`` before initialization).
    """

    def __init__(self, eta0: float = 1.0, forgetting_tau: float | None = None,
                 step_time: float = 1.0, Wout=zeros, bias=zeros, fit_bias: bool = True,
                 input_dim: int | None = None, output_dim: int | None = None,
                 name: str | None = None):
        # Checked now (a throw-away readout), not at the first call.
        BayesianReadout(eta0, forgetting_tau, step_time=step_time)
        if np.ndim(eta0) != 0 or (forgetting_tau is not None and np.ndim(forgetting_tau) != 0):
            raise ConfigError("eta0 and forgetting_tau must be numbers (one output layer)")
        self.eta0 = float(eta0)
        self.forgetting_tau = None if forgetting_tau is None else float(forgetting_tau)
        self.step_time = float(step_time)
        self.fit_bias = bool(fit_bias)
        self.name = name
        self.state = {}
        self.readout = None
        self._Wout_init, self._bias_init = Wout, bias
        self.input_dim, self.output_dim = input_dim, output_dim
        if not callable(Wout):
            Wout = np.asarray(Wout, dtype=np.float64)
            if Wout.ndim != 2:
                raise ValueError(f"Wout must have shape (input_dim, output_dim), got {Wout.shape}")
            for attribute, size in (("input_dim", Wout.shape[0]), ("output_dim", Wout.shape[1])):
                if getattr(self, attribute) not in (None, size):
                    raise ValueError(f"Both '{attribute}' and 'Wout' are set but their dimensions "
                                     f"do not match: {getattr(self, attribute)} != {size}.")
                setattr(self, attribute, size)
        if not callable(bias):
            bias = np.asarray(bias, dtype=np.float64).reshape(-1)
            if self.output_dim not in (None, bias.size):
                raise ValueError(f"Both 'output_dim' and 'bias' are set but their dimensions "
                                 f"do not match: {self.output_dim} != {bias.size}.")
            self.output_dim = bias.size

    # -- weights ------------------------------------------------------------------------

    @property
    def Wout(self):
        if self.readout is None:
            return self._Wout_init
        return self.readout.w[: self.input_dim]

    @property
    def bias(self):
        if self.readout is None:
            return self._bias_init
        if self.fit_bias:
            return self.readout.w[self.input_dim]
        return self._fixed_bias.copy()

    @property
    def alpha(self):
        return None if self.readout is None else self.readout.alpha[: self.input_dim]

    @property
    def alpha_bias(self):
        if self.readout is None or not self.fit_bias:
            return None
        return self.readout.alpha[self.input_dim]

    # -- reservoirpy's node interface ---------------------------------------------------

    def initialize(self, x=None, y=None):
        """Set the dimensions from ``x`` and ``y`` and start the readout at its prior."""
        self._set_input_dim(x)
        self._set_output_dim(y)
        if self.input_dim is None or self.output_dim is None:
            raise ValueError(f"{self}: input_dim and output_dim must be given or inferred "
                             "from the data (train with targets, or pass output_dim)")
        n_in, n_out = self.input_dim, self.output_dim
        Wout = self._Wout_init
        Wout = Wout(n_in, n_out) if callable(Wout) else Wout
        Wout = np.asarray(Wout, dtype=np.float64)
        bias = self._bias_init
        bias = bias(n_out) if callable(bias) else bias
        bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        if Wout.shape != (n_in, n_out) or bias.shape != (n_out,):
            raise ValueError(f"Wout has shape {Wout.shape} and bias {bias.shape}; expected "
                             f"({n_in}, {n_out}) and ({n_out},)")
        w0 = np.vstack([Wout, bias[None, :]]) if self.fit_bias else Wout
        self._fixed_bias = np.zeros(n_out) if self.fit_bias else bias
        self.readout = BayesianReadout(self.eta0, self.forgetting_tau, step_time=self.step_time,
                                       n_runs=n_out, w0=w0)
        self.state = {"out": np.zeros((n_out,))}
        self.initialized = True

    def _features(self, x):
        """``x`` with the always-on bias input appended, as the readout's states."""
        x = np.asarray(x, dtype=np.float64)
        if not self.fit_bias:
            return x
        ones = np.ones(x.shape[:-1] + (1,))
        return np.concatenate([x, ones], axis=-1)

    def _step(self, state, x):
        return {"out": self.readout.predict(self._features(x)) + self._fixed_bias}

    def _run(self, state, x):
        out = self.readout.predict_block(self._features(x)) + self._fixed_bias
        return {"out": out[-1]}, out

    def _learn(self, x, y):
        """Learn from a (T, input_dim) block and (T, output_dim) targets in one kernel call;
        return the predictions after each step's update."""
        readout = self.readout
        states = readout._block_states(self._features(x), "x")
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (states.shape[0], self.output_dim):
            raise ValueError(f"y has shape {y.shape}; expected ({states.shape[0]}, "
                             f"{self.output_dim})")
        targets = readout._block_targets(y - self._fixed_bias, states.shape[0])
        post = np.zeros((states.shape[0], self.output_dim))
        readout._fit(states, targets, readout._none, post, block=True)
        return post + self._fixed_bias

    def _learning_step(self, x, y):
        """One online step (reservoirpy's ``Model.partial_fit`` calls this per time step)."""
        if y is None:
            raise ValueError(f"{self} learns from targets: y must not be None")
        x = np.asarray(x, dtype=np.float64)
        return self._learn(x[None, :], np.asarray(y, dtype=np.float64).reshape(1, -1))[0]

    def partial_fit(self, x, y):
        """Online training on a timeseries, step by step, in one kernel call.

        Parameters
        ----------
        x : array of shape (timesteps, input_dim)
        y : array of shape (timesteps, output_dim)

        Returns
        -------
        array of shape (timesteps, output_dim)
            The prediction after each step's update.
        """
        check_timeseries(x, expected_dim=self.input_dim)
        if y is None:
            raise ValueError(f"{self} learns from targets: y must not be None")
        check_timeseries(y)
        if not self.initialized:
            self.initialize(x, y)
        out = self._learn(x, y)
        if out.shape[0]:
            self.state = {"out": out[-1]}
        return out


RESERVOIRPY_VERSION = reservoirpy.__version__
