"""The pipeline's three readout rules as a library, for states you supply.

``DeltaReadout`` (the classical delta rule / LMS), ``BayesianReadout`` (the per-synapse
Bayesian rule of Aitchison et al. 2021 and the Menendez & Latham poster, with optional
forgetting) and ``RLSReadout`` (recursive least squares, the FORCE update of Sussillo &
Abbott 2009) learn a linear readout ``z = w . s`` online, one step at a time, from
presynaptic activity ``s`` and a target ``f``. Each step takes the error before the
update, ``e = f - w . s``, as the pipeline does. They run on the pipeline's own Numba
kernels (``kernels.output``, ``kernels.local_update``, ``kernels.rls_update``): the same
states and targets give the same weights, to the last bit, as
``simulate_readout_learning``, whose readout sees ``s = g_out * r``.

Shapes
------
A readout is unbatched (``n_runs=None``, the default) or holds ``n_runs`` independent
runs, each with its own weights, learning state and target. Arrays are laid out as the
pipeline's kernels lay them out: features first, runs last (``w`` has shape
``(n_features, n_runs)``, which is also reservoirpy's ``Wout`` layout ``(in, out)``).

==================  ======================  ==========================================
                    unbatched               batched (``n_runs = B``)
==================  ======================  ==========================================
``state``           ``(n_features,)``       ``(n_features, B)``, or ``(n_features,)``
                                            shared by every run
``target``          scalar                  ``(B,)``, or a scalar shared by every run
block ``states``    ``(T, n_features)``     ``(T, n_features, B)``, or
                                            ``(T, n_features)`` shared
block ``targets``   ``(T,)``                ``(T, B)``, or ``(T,)`` shared
``w``               ``(n_features,)``       ``(n_features, B)``
prediction          float                   ``(B,)``; a block: ``(T,)`` / ``(T, B)``
==================  ======================  ==========================================

There is one output per run. Several outputs read from the same state are a batched
readout with a shared state, one run per output: ``BayesianReadout(eta0, n_runs=3)``
then ``partial_fit(state, target_of_shape_3)`` (the local rules cost the same per
output; ``RLSReadout`` keeps one ``P`` per run, which multiplies its cost by B).

``partial_fit`` is one step and one kernel call; ``partial_fit_block`` runs T steps in
one kernel call, which removes the Python overhead of a call per step (several
microseconds, as much as a whole update at batch 1 and N = 500) and gives exactly the
same numbers as T calls of ``partial_fit``.

Invalid input raises ``ValueError`` (``ConfigError``, a ``ValueError``, for
parameters) naming the problem, before the offending step is applied; in a block, the
steps before it stay applied and the message says how many. A run whose prediction
becomes non-finite although its inputs are finite (a learning rate too large for its
input) has diverged: it is flagged in ``diverged``, its weights are set to NaN, it
stops learning and predicts NaN, and a ``RuntimeWarning`` says so; the other runs of
the batch go on.

References
----------
Sussillo, D. & Abbott, L. F. (2009). Generating coherent patterns of activity from
chaotic neural networks. Neuron 63, 544-557 (Eqs. 4-5).
Aitchison, L. et al. (2021). Synaptic plasticity as Bayesian inference. Nat. Neurosci.
24, 565-571.
Menendez, J. A. & Latham, P. E. Bayesian weight updates stabilize and improve local
learning in a recurrent neural network (poster).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..core.errors import ConfigError
from ..core.jit import njit
from . import kernels

__all__ = ["DeltaReadout", "BayesianReadout", "RLSReadout"]


# --------------------------------------------------------------------------------------
# Kernels: loops over steps around the pipeline's own per-step kernels. One call does
# T steps; a step's arithmetic is exactly that of ``kernels._step``'s learning.


@njit(inline="always")
def _predict(w, s, gain, target, diverged, z, err):
    """``z = w . (gain * s)`` and ``err = target - z`` per run; True when a run not yet
    diverged has a non-finite error (its step must not be applied)."""
    kernels.output(w, s, gain, z)
    bad = False
    for b in range(z.shape[0]):
        err[b] = target[b] - z[b]
        if not diverged[b] and not math.isfinite(err[b]):
            bad = True
    return bad


@njit
def _local_steps(w, alpha, states, targets, gain, rule, diverged, scratch, prior, post):
    """T steps of the delta / Bayesian rule: ``kernels.output`` then ``kernels.local_update``.

    Parameters
    ----------
    w, alpha : numpy.ndarray of float64, shape (n_features, batch)
        Weights and per-synapse rates, updated in place.
    states : numpy.ndarray of float64, shape (T, n_features, batch)
        Presynaptic activity ``s`` of every step.
    targets : numpy.ndarray of float64, shape (T, batch)
        Target ``f`` of every step.
    gain : numpy.ndarray of float64, shape (n_features,)
        Ones (the library's ``s`` is what the readout sees).
    rule : numpy.ndarray of float64, shape (3, batch)
        ``alpha_decay``, ``alpha_floor`` and ``bayes`` of ``kernels.Readout``, as rows
        (one argument instead of three: each costs Python-to-Numba dispatch time).
    diverged : numpy.ndarray of bool, shape (batch,)
        Runs that are not checked (their weights are NaN).
    scratch : numpy.ndarray of float64, shape (2, batch)
        Receives the prediction ``z`` and the error of the last step looked at.
    prior, post : numpy.ndarray of float64, shape (T, batch) or (0, batch)
        Receive the prediction before / after each step's update (nothing if empty).

    Returns
    -------
    int
        The number of steps applied: T, or the first step at which a run not yet
        diverged has a non-finite error (that step is not applied; ``z`` holds its
        predictions).
    """
    n_steps = states.shape[0]
    alpha_decay, alpha_floor, bayes = rule[0], rule[1], rule[2]
    z, err = scratch[0], scratch[1]
    record_prior = prior.shape[0] > 0
    record_post = post.shape[0] > 0
    for t in range(n_steps):
        s = states[t]
        if _predict(w, s, gain, targets[t], diverged, z, err):
            return t
        if record_prior:
            prior[t, :] = z
        kernels.local_update(w, alpha, s, gain, err, alpha_decay, alpha_floor, bayes)
        if record_post:
            kernels.output(w, s, gain, z)
            post[t, :] = z
    return n_steps


@njit
def _rls_steps(P, w, states, targets, gain, diverged, scratch, vectors, prior, post):
    """T RLS steps: ``kernels.output`` then ``kernels.rls_update`` for every live run.

    Parameters
    ----------
    P : numpy.ndarray of float64, shape (batch, n_features, n_features)
        Inverse correlation matrices, updated in place.
    w : numpy.ndarray of float64, shape (n_features, batch)
        Weights, updated in place.
    states, targets, gain, diverged, scratch, prior, post
        As in ``_local_steps``.
    vectors : numpy.ndarray of float64, shape (2, n_features)
        Scratch ``s`` and ``k`` of ``kernels.rls_update``.

    Returns
    -------
    int
        As in ``_local_steps``.
    """
    n_steps = states.shape[0]
    batch = w.shape[1]
    z, err = scratch[0], scratch[1]
    s_scratch, k_scratch = vectors[0], vectors[1]
    record_prior = prior.shape[0] > 0
    record_post = post.shape[0] > 0
    for t in range(n_steps):
        s = states[t]
        if _predict(w, s, gain, targets[t], diverged, z, err):
            return t
        if record_prior:
            prior[t, :] = z
        for b in range(batch):
            if not diverged[b]:
                kernels.rls_update(P[b], w, b, s, gain, err[b], s_scratch, k_scratch)
        if record_post:
            kernels.output(w, s, gain, z)
            post[t, :] = z
    return n_steps


@njit
def _predict_steps(w, states, gain, out):
    """``out[t] = w . states[t]`` for every step, with ``kernels.output``.

    The same numbers as the prediction a learning step computes before its update.
    """
    z = np.empty(w.shape[1])
    for t in range(states.shape[0]):
        kernels.output(w, states[t], gain, z)
        for b in range(z.size):
            out[t, b] = z[b]


# --------------------------------------------------------------------------------------
# Validation helpers


def _count(name, value, allow_none=True):
    if value is None and allow_none:
        return None
    try:
        valid = not isinstance(value, bool) and int(value) == value and value >= 1
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _per_run(name, value, allow_inf=False):
    """``value`` (a number or a 1-D sequence, one per run) as a float64 array, checked > 0.

    Returns ``(array of shape (k,), k or None)``: ``None`` for a scalar.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a positive number or one per run, "
                          f"got {value!r}") from None
    if array.ndim > 1 or array.size == 0:
        raise ConfigError(f"{name} must be a positive number or a 1-D array with one per "
                          f"run, got shape {array.shape}")
    bad = ~(array > 0) | (np.isinf(array) & (not allow_inf))  # NaN fails "> 0"
    if np.any(bad):
        what = "positive" + ("" if allow_inf else " and finite")
        shown = float(array) if array.ndim == 0 else array[bad][:5].tolist()
        raise ConfigError(f"{name} must be {what}, got {shown!r}")
    return np.atleast_1d(array), (array.size if array.ndim == 1 else None)


def _runs_text(mask):
    runs = np.flatnonzero(mask)
    shown = ", ".join(str(r) for r in runs[:8]) + (", ..." if runs.size > 8 else "")
    return f"run{'s' if runs.size > 1 else ''} {shown}"


def _behaved(array):
    """``array`` as a C-contiguous, aligned, writeable float64 array (a copy only if needed).

    Keeps every kernel argument of one Numba type (a read-only or strided array would
    compile another version).
    """
    return array if array.flags.carray else np.array(array, dtype=np.float64, order="C")


_FLOAT64 = np.dtype(np.float64)


def _as_float_array(name, value):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}") from None


# --------------------------------------------------------------------------------------
# The readouts


class _OnlineReadout:
    """Shapes, validation, divergence and the public methods shared by the three rules."""

    _rule = ""

    def __init__(self, per_run: dict, n_features, n_runs, w0):
        self._n_features = _count("n_features", n_features)
        n_runs = _count("n_runs", n_runs)
        w0_array = None
        if w0 is not None:
            w0_array = _as_float_array("w0", w0)
            if w0_array.ndim not in (1, 2) or w0_array.size == 0:
                raise ConfigError(f"w0 must have shape (n_features,) or (n_features, n_runs), "
                                  f"got {w0_array.shape}")
            if not np.all(np.isfinite(w0_array)):
                raise ConfigError("w0 contains non-finite values")
            if self._n_features is not None and w0_array.shape[0] != self._n_features:
                raise ConfigError(f"w0 has {w0_array.shape[0]} features but n_features is "
                                  f"{self._n_features}")
            self._n_features = w0_array.shape[0]
        # The number of runs: given, or implied by a per-run parameter or a 2-D w0.
        implied = {name: k for name, (_, k) in per_run.items() if k is not None}
        if w0_array is not None and w0_array.ndim == 2:
            implied["w0"] = w0_array.shape[1]
        if n_runs is None and implied:
            n_runs = next(iter(implied.values()))
        for name, k in implied.items():
            if k != n_runs:
                raise ConfigError(f"{name} has {k} runs but the readout has {n_runs} "
                                  f"(n_runs or the other per-run parameters)")
        self._batched = n_runs is not None
        self._B = n_runs if self._batched else 1
        self._per_run = {name: np.ascontiguousarray(np.broadcast_to(array, (self._B,)))
                         for name, (array, _) in per_run.items()}
        self._w0 = w0_array
        self._w = None
        self._own_shape = self._target_shape = None  # set with the state, by _allocate
        self.n_steps = 0
        if self._n_features is not None:
            self._allocate(self._n_features)

    # -- state --------------------------------------------------------------------------

    def _allocate(self, n_features):
        n, B = int(n_features), self._B
        self._n_features = n
        w = np.zeros((n, B))
        if self._w0 is not None:
            w[:] = self._w0 if self._w0.ndim == 2 else self._w0[:, None]
        self._w = w
        self._gain = np.ones(n)
        self._diverged = np.zeros(B, dtype=np.bool_)
        self._scratch = np.zeros((2, B))  # the last step's prediction z and error
        self._z = self._scratch[0]
        self._shared = np.empty((1, n, B))  # a shared state copied to every run
        self._target = np.empty((1, B))
        self._none = np.empty((0, B))
        # a state of this shape is used as it is (with the run axis added if unbatched)
        self._own_shape = (n, B) if self._batched else (n,)
        self._target_shape = (B,) if self._batched else ()
        self._kernel_shape = (1, n, B)
        self._allocate_rule(n)
        self._args = [*self._head, None, None, *self._tail, self._none, self._none]

    def _allocate_rule(self, n_features):  # pragma: no cover - every rule defines it
        raise NotImplementedError

    def _view(self, array, run_axis):
        """A read-only view of ``array``, without its run axis for an unbatched readout."""
        if array is None:
            return None
        if self._batched:
            view = array.view()
        else:
            index = [slice(None)] * array.ndim
            index[run_axis] = 0
            view = array[tuple(index)]
        view.flags.writeable = False
        return view

    @property
    def n_features(self) -> int | None:
        """Number of presynaptic features (``None`` until the first state is seen)."""
        return self._n_features

    @property
    def n_runs(self) -> int | None:
        """Number of runs of a batched readout, ``None`` for an unbatched one."""
        return self._B if self._batched else None

    @property
    def w(self) -> np.ndarray | None:
        """Readout weights, ``(n_features,)`` or ``(n_features, n_runs)``: a read-only
        view of the live state (copy it to keep a snapshot)."""
        return self._view(self._w, 1)

    @property
    def diverged(self):
        """Whether each run has diverged (bool, or ``(n_runs,)`` bool)."""
        if self._w is None:
            return np.zeros(self._B, dtype=bool) if self._batched else False
        return self._diverged.copy() if self._batched else bool(self._diverged[0])

    # -- input shapes -------------------------------------------------------------------

    def _expected(self, block):
        n = self._n_features if self._n_features is not None else "n_features"
        lead = "(n_steps, " if block else "("
        if not self._batched:
            return f"{lead}{n},) for this unbatched readout"
        return (f"{lead}{n}, {self._B}) (one state per run) or {lead}{n},) (shared by the "
                f"{self._B} runs)")

    def _ensure_allocated(self, state, feature_axis, what):
        if self._w is None:
            if state.ndim <= feature_axis or state.shape[feature_axis] < 1:
                raise ValueError(f"{what} has shape {state.shape}; expected "
                                 f"{self._expected(feature_axis == 1)}")
            self._allocate(state.shape[feature_axis])

    def _step_states(self, state, what="state"):
        """One step's state as a (1, n, B) kernel array."""
        if (type(state) is np.ndarray and state.shape == self._own_shape
                and state.dtype is _FLOAT64 and state.flags.carray):  # the common case, fast
            return state.reshape(self._kernel_shape)
        state = _as_float_array(what, state)
        if self._w is None:
            self._ensure_allocated(state, 0, what)
        n, B = self._w.shape
        if state.shape == (n,):
            if B == 1:
                return _behaved(state).reshape(1, n, 1)
            self._shared[0] = state[:, None]
            return self._shared
        if self._batched and state.shape == (n, B):
            return _behaved(state).reshape(1, n, B)
        raise ValueError(f"{what} has shape {state.shape}; expected {self._expected(False)}")

    def _block_states(self, states, what="states"):
        """A block of states as a (T, n, B) kernel array."""
        states = _as_float_array(what, states)
        self._ensure_allocated(states, 1, what)
        n, B = self._w.shape
        if states.ndim == 2 and states.shape[1] == n:
            if B == 1:
                return _behaved(states).reshape(states.shape[0], n, 1)
            return np.ascontiguousarray(np.broadcast_to(states[:, :, None],
                                                        (states.shape[0], n, B)))
        if self._batched and states.ndim == 3 and states.shape[1:] == (n, B):
            return _behaved(states)
        raise ValueError(f"{what} has shape {states.shape}; expected {self._expected(True)}")

    def _step_targets(self, target):
        if isinstance(target, float) and not self._batched:  # the common cases, fast
            self._target[0, 0] = target
            return self._target
        if (type(target) is np.ndarray and target.shape == self._target_shape
                and target.dtype is _FLOAT64):
            self._target[0] = target
            return self._target
        value = _as_float_array("target", target)
        if value.shape == () or (self._batched and value.shape == (self._B,)):
            self._target[0] = value
            return self._target
        expected = "a scalar" if not self._batched else f"a scalar or shape ({self._B},)"
        raise ValueError(f"target has shape {value.shape}; expected {expected}")

    def _block_targets(self, targets, n_steps):
        value = _as_float_array("targets", targets)
        B = self._B
        if value.shape == (n_steps,):
            return np.ascontiguousarray(np.broadcast_to(value[:, None], (n_steps, B)))
        if self._batched and value.shape == (n_steps, B):
            return _behaved(value)
        expected = f"({n_steps},)" + (f" or ({n_steps}, {B})" if self._batched else "")
        raise ValueError(f"targets has shape {value.shape}; expected {expected} for "
                         f"{n_steps} steps of states")

    def _result(self, values):
        """A (B,) or (T, B) kernel result in the readout's shape convention."""
        if self._batched:
            return values.copy()
        return float(values[0]) if values.ndim == 1 else values[:, 0].copy()

    # -- learning -----------------------------------------------------------------------

    def _kernel(self, states, targets, prior, post):  # pragma: no cover - per rule
        raise NotImplementedError

    def _fit(self, states, targets, prior, post, block):
        """Learn from (T, n, B) states and (T, B) targets; the steps that fail a check
        raise (bad input) or mark runs diverged, then the rest is learned."""
        n_steps = states.shape[0]
        start = self._kernel(states, targets, prior, post)  # all of them, but for bad input
        self.n_steps += start
        while start < n_steps:
            self._bad_step(states[start], targets[start], start, block)
            done = self._kernel(states[start:], targets[start:],
                                prior[start:] if prior.shape[0] else prior,
                                post[start:] if post.shape[0] else post)
            start += done
            self.n_steps += done

    def _bad_step(self, state, target, step, block):
        """Step ``step`` has a non-finite error: raise if its input is bad, else the
        runs whose prediction is non-finite diverged."""
        live = ~self._diverged
        where = f"states[{step}]" if block else "state"
        applied = f"; the {step} steps before it were applied" if block else ""
        runs = (lambda mask: f" ({_runs_text(mask)})") if self._batched else (lambda mask: "")
        bad = live & ~np.all(np.isfinite(state), axis=0)
        if bad.any():
            raise ValueError(f"{where} contains non-finite values{runs(bad)}{applied}")
        bad = live & ~np.isfinite(target)
        if bad.any():
            name = f"targets[{step}]" if block else "target"
            raise ValueError(f"{name} is not finite{runs(bad)}{applied}")
        new = live & ~np.isfinite(self._z)
        if not new.any():  # pragma: no cover - the kernel stopped for no reason
            raise RuntimeError("readout kernel stopped on a step without a non-finite error")
        self._diverged |= new
        self._w[:, new] = np.nan
        who = _runs_text(new) if self._batched else "the readout"
        warnings.warn(f"{type(self).__name__}: {who} diverged at learning step "
                      f"{self.n_steps + 1} (the prediction became non-finite): weights set "
                      f"to NaN, learning stopped; lower the learning rate",
                      RuntimeWarning, stacklevel=4)

    def partial_fit(self, state, target):  # the hot path: one Python frame, one kernel call
        """One online learning step: ``e = target - w . state``, then the rule's update.

        Parameters
        ----------
        state : array_like
            Presynaptic activity: ``(n_features,)``, or ``(n_features, n_runs)`` for a
            batched readout (a 1-D state is then shared by every run).
        target : float or array_like
            The target: a scalar, or ``(n_runs,)`` for a batched readout (a scalar is
            then shared).

        Returns
        -------
        float or numpy.ndarray of shape (n_runs,)
            The prediction ``w . state`` before the update (``target`` minus it is the
            error the step learned from).
        """
        states = self._step_states(state)
        targets = self._step_targets(target)
        args = self._args
        args[2], args[3] = states, targets
        done = self._steps(*args)
        args[2] = args[3] = None  # hold no reference to the caller's arrays
        self.n_steps += done
        if not done:  # bad input (raises) or a run diverged (then the step is learned)
            self._fit(states, targets, self._none, self._none, block=False)
        return self._z.copy() if self._batched else float(self._z[0])

    def partial_fit_block(self, states, targets):
        """``len(states)`` online steps in one kernel call: the same numbers as that many
        ``partial_fit`` calls, without their Python overhead.

        Parameters
        ----------
        states : array_like
            ``(n_steps, n_features)``, or ``(n_steps, n_features, n_runs)`` for a
            batched readout (a 2-D block is then shared by every run).
        targets : array_like
            ``(n_steps,)``, or ``(n_steps, n_runs)`` for a batched readout (a 1-D block
            is then shared).

        Returns
        -------
        numpy.ndarray of shape (n_steps,) or (n_steps, n_runs)
            The prediction before each step's update.
        """
        states = self._block_states(states)
        targets = self._block_targets(targets, states.shape[0])
        prior = np.zeros((states.shape[0], self._B))
        self._fit(states, targets, prior, self._none, block=True)
        return self._result(prior)

    def predict(self, state):
        """The readout ``w . state`` of one state (no learning).

        Parameters
        ----------
        state : array_like
            As in ``partial_fit``.

        Returns
        -------
        float or numpy.ndarray of shape (n_runs,)
            Exactly the prediction ``partial_fit(state, ...)`` would start from.
        """
        states = self._step_states(state)
        out = np.empty((1, self._B))
        _predict_steps(self._w, states, self._gain, out)
        return self._result(out[0])

    def predict_block(self, states):
        """The readout of every state of a block (no learning).

        Parameters
        ----------
        states : array_like
            As in ``partial_fit_block``.

        Returns
        -------
        numpy.ndarray of shape (n_steps,) or (n_steps, n_runs)
        """
        states = self._block_states(states)
        out = np.empty((states.shape[0], self._B))
        _predict_steps(self._w, states, self._gain, out)
        return self._result(out)

    def _rate_repr(self):  # pragma: no cover - per rule
        raise NotImplementedError

    def __repr__(self):
        return (f"{type(self).__name__}({self._rate_repr()}, n_features={self._n_features}, "
                f"n_runs={self.n_runs})")


def _param(array, batched):
    return array.copy() if batched else float(array[0])


class _LocalReadout(_OnlineReadout):
    """The delta and Bayesian rules: one kernel, ``kernels.local_update``."""

    def _allocate_rule(self, n_features):
        self._alpha = np.empty((n_features, self._B))
        self._alpha[:] = self._initial_rate()[None, :]
        self._head = (self._w, self._alpha)
        self._tail = (self._gain, self._rule_constants(), self._diverged, self._scratch)

    def _rule_constants(self):
        """``alpha_decay``, ``alpha_floor`` and ``bayes`` of every run, shape (3, B)."""
        B = self._B
        return np.stack([np.ones(B), np.zeros(B), np.zeros(B)])

    _steps = staticmethod(_local_steps)

    def _kernel(self, states, targets, prior, post):
        return _local_steps(*self._head, states, targets, *self._tail, prior, post)


class DeltaReadout(_LocalReadout):
    """The classical delta rule (LMS): ``w <- w + eta e s`` with ``e = f - w . s``.

    The pipeline's ``delta`` rule (``RuleSetting("delta", eta)``).

    Parameters
    ----------
    eta : float or array_like of shape (n_runs,)
        Fixed learning rate (> 0), one per run if an array.
    n_features : int, optional
        Number of presynaptic features; taken from the first state if not given.
    n_runs : int, optional
        Number of independent runs; ``None`` (and scalar parameters) for one unbatched
        readout. See the module docstring for the shapes.
    w0 : array_like, optional
        Initial weights, ``(n_features,)`` or ``(n_features, n_runs)``; zero by default.

    Attributes
    ----------
    eta : float or numpy.ndarray of shape (n_runs,)
    w : numpy.ndarray, shape (n_features,) or (n_features, n_runs)
    n_steps : int
        Learning steps applied so far.
    diverged : bool or numpy.ndarray of bool
    """

    _rule = "delta"

    def __init__(self, eta, *, n_features=None, n_runs=None, w0=None):
        super().__init__({"eta": _per_run("eta", eta)}, n_features, n_runs, w0)

    def _initial_rate(self):
        return self._per_run["eta"]

    @property
    def eta(self):
        return _param(self._per_run["eta"], self._batched)

    def _rate_repr(self):
        return f"eta={self.eta!r}"


class BayesianReadout(_LocalReadout):
    """The per-synapse Bayesian rule: ``w_i <- w_i + alpha_i e s_i``, ``e = f - w . s``.

    Each synapse keeps a Gaussian posterior over its weight, with variance
    ``alpha_i sigma_l^2`` (``sigma_l^2`` the variance of the target given the readout):
    ``1/alpha_i(t) = 1/eta0 + sum_{t' <= t} s_i(t')^2``, applied as
    ``alpha_i <- alpha_i / (1 + alpha_i s_i^2)`` before the weight update, so the rate
    stays positive and never increases (Aitchison et al. 2021, Eq. 4 with a Gaussian
    likelihood; Menendez & Latham poster). ``eta0`` is the prior variance over
    ``sigma_l^2``, and ``w0`` the prior mean. The posterior is per synapse: each synapse
    treats the others' contribution as known, which is exact when the features never
    overlap (one-hot states give each weight its own ridge estimate
    ``sum f / (1/eta0 + count)``).

    With forgetting (``forgetting_tau``), the weights drift between steps (Aitchison et
    al. 2021): before each update ``alpha_i <- d alpha_i + eta0 (1 - d)`` with
    ``d = exp(-2 step_time / forgetting_tau)``, so the rate relaxes toward ``eta0`` and
    settles where drift balances data instead of annealing to zero. The pipeline's
    ``RuleSetting("bayes", eta0, forgetting_tau)`` is this readout with
    ``step_time = protocol.learn_every * protocol.dt``.

    Parameters
    ----------
    eta0 : float or array_like of shape (n_runs,)
        Initial per-synapse rate (> 0), the prior variance in units of ``sigma_l^2``.
    forgetting_tau : float or array_like of shape (n_runs,), optional
        Time constant of the prior drift (> 0, ``inf`` for none), in the unit of
        ``step_time``; ``None`` (the default) switches forgetting off.
    step_time : float
        Time between two learning steps (> 0), in the unit of ``forgetting_tau`` (the
        pipeline's ``learn_every * dt``, ms). Used only with forgetting.
    n_features, n_runs, w0
        As in ``DeltaReadout``.

    Attributes
    ----------
    eta0, forgetting_tau, step_time
        As given (per-run parameters as arrays).
    alpha : numpy.ndarray, shape (n_features,) or (n_features, n_runs)
        The per-synapse rates: posterior variances over ``sigma_l^2``. A read-only view.
    alpha_decay, alpha_floor : float or numpy.ndarray of shape (n_runs,)
        ``d`` and ``eta0 (1 - d)`` of the forgetting (1 and 0 without).
    w, n_steps, diverged
        As in ``DeltaReadout``.
    """

    _rule = "bayes"

    def __init__(self, eta0, forgetting_tau=None, *, step_time=1.0, n_features=None,
                 n_runs=None, w0=None):
        per_run = {"eta0": _per_run("eta0", eta0)}
        if forgetting_tau is not None:
            per_run["forgetting_tau"] = _per_run("forgetting_tau", forgetting_tau,
                                                 allow_inf=True)
        if np.ndim(step_time) != 0:
            raise ConfigError(f"step_time must be one positive number, got {step_time!r}")
        self._step_time = float(_per_run("step_time", step_time)[0][0])
        self._forgetting = forgetting_tau is not None
        super().__init__(per_run, n_features, n_runs, w0)

    def _rule_constants(self):
        B = self._B
        eta0s = self._per_run["eta0"]
        decay, floor = np.ones(B), np.zeros(B)
        if self._forgetting:
            for run, tau in enumerate(self._per_run["forgetting_tau"]):
                # readout_state's formulas, operation for operation
                d = math.exp(-2.0 * self._step_time / float(tau))
                decay[run] = d
                floor[run] = float(eta0s[run]) * (1.0 - d)
        return np.stack([decay, floor, np.ones(B)])

    def _initial_rate(self):
        return self._per_run["eta0"]

    @property
    def eta0(self):
        return _param(self._per_run["eta0"], self._batched)

    @property
    def forgetting_tau(self):
        return _param(self._per_run["forgetting_tau"], self._batched) if self._forgetting else None

    @property
    def step_time(self) -> float:
        return self._step_time

    @property
    def alpha(self):
        return self._view(self._alpha if self._w is not None else None, 1)

    @property
    def alpha_decay(self):
        return _param(self._rule_constants()[0], self._batched)

    @property
    def alpha_floor(self):
        return _param(self._rule_constants()[1], self._batched)

    def _rate_repr(self):
        return (f"eta0={self.eta0!r}, forgetting_tau={self.forgetting_tau!r}, "
                f"step_time={self._step_time!r}")


class RLSReadout(_OnlineReadout):
    """Recursive least squares (the FORCE update, Sussillo & Abbott 2009, Eqs. 4-5).

    ``P(0) = I / alpha``; each step ``k = P s``, ``c = 1 / (1 + s . k)``,
    ``P <- P - c k k^T``, ``w <- w + c e k`` with ``e = f - w . s``. From ``w0 = 0``,
    after steps on states ``X`` (one per row) and targets ``y`` the weights are the ridge
    regression ``(X^T X + alpha I)^-1 X^T y`` and ``P = (X^T X + alpha I)^-1``.
    The pipeline's ``RuleSetting("rls", alpha)``. Costs O(n_features^2) per run and step.

    Parameters
    ----------
    alpha : float or array_like of shape (n_runs,)
        The regulariser (> 0), one per run if an array.
    n_features, n_runs, w0
        As in ``DeltaReadout``.

    Attributes
    ----------
    alpha : float or numpy.ndarray of shape (n_runs,)
    P : numpy.ndarray, shape (n_features, n_features) or (n_runs, n_features, n_features)
        The inverse correlation matrices: a read-only view.
    w, n_steps, diverged
        As in ``DeltaReadout``.
    """

    _rule = "rls"

    def __init__(self, alpha, *, n_features=None, n_runs=None, w0=None):
        super().__init__({"alpha": _per_run("alpha", alpha)}, n_features, n_runs, w0)

    def _allocate_rule(self, n_features):
        P = np.zeros((self._B, n_features, n_features))
        for run, alpha in enumerate(self._per_run["alpha"]):
            P[run] = np.eye(n_features) / float(alpha)  # as readout_state
        self._P = P
        self._head = (P, self._w)
        self._tail = (self._gain, self._diverged, self._scratch, np.empty((2, n_features)))

    _steps = staticmethod(_rls_steps)

    def _kernel(self, states, targets, prior, post):
        return _rls_steps(*self._head, states, targets, *self._tail, prior, post)

    @property
    def alpha(self):
        return _param(self._per_run["alpha"], self._batched)

    @property
    def P(self):
        return self._view(self._P if self._w is not None else None, 0)

    def _rate_repr(self):
        return f"alpha={self.alpha!r}"
