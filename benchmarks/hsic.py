"""Training speed of the HSIC rule and of back-prop against their matrix-product floors.

What is measured, for each architecture (``--tasks``; default all three): the digits
MLP 64-128-64-10 and the MNIST one 784-128-64-10 at the digits task's window
(B = 8) and rule settings, and the small tasks' rate MLP 2-10-4-2 at the xor task's
(B = 64), all from ``config/config.yaml``, on random data shaped like the task
(inputs uniform in [-1, 1], random one-hot labels), a fresh network per measurement:

1. The bio step: one window step, ``training.bio_window_step`` (forward over the B
   window samples, the kernels K_x and K_y, the signal coefficients, xi per hidden
   layer, its pull-back, the readout's gradient) plus ``AdamW.step`` over every
   parameter, as ``train_bio`` takes it. The window slides by one sample a step, so
   samples/s = steps/s.
2. Floor F: the matrix products that step needs, alone, in NumPy/BLAS with
   preallocated outputs: the forward products of the B x d window through each layer,
   the Gram matrices X X^T and Y Y^T, the last row of each Z_l Z_l^T (the step needs
   only the current sample's distances, ``Z_l z_N``), the rank-one weight gradients of
   the current sample (outer products) and the readout's B-sample weight gradient
   ``Z^T G``. NumPy has no fast outer product (its broadcast multiply is several times
   slower than the write it does at 784 x 128), so F is the faster of this floor with
   the outer products by NumPy and by the package's own loop ``kernels.outer``.
3. The window kernels: ``kernels.gaussian_from_gram`` for K_x and K_y, then
   ``kernels.signal_coefficients`` and ``kernels.global_signal`` of every hidden layer,
   from precomputed Gram matrices, called from Python as the step calls them; the same
   through ``synlearn.hsic.objective`` (Gram products included); each as a share of the
   step. Also ``network.forward`` and ``AdamW.step`` alone, and the extra forward
   ``train_bio`` runs each step for its training accuracy (not in the step).
4. Back-prop: one minibatch step of 6 samples (``backprop_gradients`` + ``AdamW.step``),
   samples/s = 6 / step time, against floor Fb: its forward and backward products
   alone (forward, ``X^T delta`` per layer, ``delta W^T`` for all but the first).
5. Peers (the benchmark extra, ``pip install -e .[bench]``; skipped with a note without
   torch): the same MLP in PyTorch on CPU (Linear, ReLU, LayerNorm without affine, eps
   1e-6; ``torch.optim.AdamW``, betas 0.9/0.99, weight decay 1e-4), one thread, float64
   like the package: P, the bio step written the same way (kernels from Gram matrices,
   xi of the current sample, ``z_N . xi`` summed with the window's cross-entropy, one
   ``backward``), and Pb, one back-prop step per minibatch of 6 (float32 shown for
   information). Before timing, both peers' gradients are checked against the package's.
6. Projected CPU time of the config's digits bio work in study ``main``
   (models x epochs x (n_train - B + 1) window steps) from the measured step.

How to read the tables (see ``harness.py``): medians over ``--rounds`` shuffled rounds;
"spread" is the interquartile range over the rounds / the median; "x F", "x P" divide a
median by that floor's or peer's median from the same rounds (1.0 = as fast); "x step"
is a part's share of the bio step.

Usage (BLAS and torch are pinned to one thread):
    python benchmarks/hsic.py                          (7 rounds of ~0.1 s measurements)
    python benchmarks/hsic.py --quick                  (well under a minute)
    python benchmarks/hsic.py --tasks mnist --rounds 11
"""

from __future__ import annotations

import harness  # noqa: I001  (first: pins BLAS threads before NumPy loads)

import math  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from harness import Case, Row, floor_table, pct, ratio, table  # noqa: E402
from synlearn.core.datasets import digits_train_test  # noqa: E402
from synlearn.hsic import kernels  # noqa: E402
from synlearn.hsic.layers import LAYER_NORM_EPS, make_mlp  # noqa: E402
from synlearn.hsic.objective import (  # noqa: E402
    gaussian_kernel, global_signal, kernel_scale, signal_coefficients,
)
from synlearn.hsic.optim import AdamW  # noqa: E402
from synlearn.hsic.pipeline import bio_rule  # noqa: E402
from synlearn.hsic.training import BioRule, backprop_gradients, bio_window_step  # noqa: E402

try:  # the benchmark extra (pip install -e .[bench]); without it, no peer rows
    import torch  # noqa: E402
except ImportError:  # pragma: no cover
    torch = None

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
POOL = 256  # samples of random data a stream cycles through
TASK_SHAPES = {"digits": (64, 10), "mnist": (784, 10), "xor": (2, 2)}  # (inputs, classes)


@dataclass
class Arch:
    """One architecture and the settings its steps are timed with."""

    name: str
    sizes: tuple
    window: int
    rule: BioRule
    lr: float
    backprop_lr: float
    batch: int

    @property
    def label(self) -> str:
        return f"{self.name} {'-'.join(map(str, self.sizes))}"


def architectures(config: dict, names: list[str]) -> list[Arch]:
    """The digits, MNIST and small-task MLPs with the config's settings.

    MNIST has no task in the default config; it takes the digits task's settings (the
    paper's image-task settings) with 784 inputs.
    """
    tasks = config["hsic"]["tasks"]
    out = []
    for name in names:
        settings = tasks["digits" if name == "mnist" else name]
        d_in, classes = TASK_SHAPES[name]
        out.append(Arch(name, (d_in, *map(int, settings["hidden"]), classes),
                        int(settings["window"]), bio_rule(settings), float(settings["lr"]),
                        float(settings["backprop_lr"]), int(settings["backprop_batch_size"])))
    return out


def stream(arch: Arch, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, one-hot targets and labels of a random stream of POOL + window samples."""
    rng = np.random.default_rng(seed)
    n, classes = POOL + max(arch.window, arch.batch), arch.sizes[-1]
    inputs = rng.uniform(-1.0, 1.0, (n, arch.sizes[0]))
    labels = rng.integers(0, classes, n)
    return inputs, np.eye(classes)[labels], labels


def finite_check(state: dict):
    def check():
        network = state.get("network")
        if network is None or all(np.isfinite(p).all() for p in network.parameters):
            return ""
        return "parameters became non-finite"
    return check


# --------------------------------------------------------------------------------------
# The package's steps and their parts


def bio_cases(arch: Arch) -> list[Case]:
    inputs, targets, _ = stream(arch)
    B, rule, key = arch.window, arch.rule, arch.name
    state = {}

    def prepare_step(n):
        network = make_mlp(arch.sizes, np.random.default_rng(5))
        optimizer = AdamW(arch.lr)
        parameters = network.parameters
        opt_state = [optimizer.init(parameters)]
        state["network"] = network

        def work():
            s = opt_state[0]
            for it in range(n):
                start = it % POOL
                step = bio_window_step(network, inputs[start:start + B],
                                       targets[start:start + B], rule)
                s = optimizer.step(parameters, [g for layer in step.gradients for g in layer], s)
            opt_state[0] = s
        return work

    # The parts are timed on the windows of an untrained network.
    network = make_mlp(arch.sizes, np.random.default_rng(5))
    windows = [(inputs[s:s + B], targets[s:s + B]) for s in range(POOL)]
    hidden_outputs = [network.forward(x)[0][:-1] for x, _ in windows]
    grams = [(x @ x.T, y @ y.T) for x, y in windows]
    scale_x = kernel_scale(rule.sigma_x, arch.sizes[0])
    scale_y = kernel_scale(rule.sigma_y, arch.sizes[-1])
    scales_z = [kernel_scale(rule.sigma_z, d) for d in arch.sizes[1:-1]]
    variant = kernels.VARIANT_CODES[rule.variant]

    def prepare_kernels(n):
        kx, ky, beta = np.empty((B, B)), np.empty((B, B)), np.empty(B)
        xis = [np.empty(d) for d in arch.sizes[1:-1]]

        def work():
            for it in range(n):
                gx, gy = grams[it % POOL]
                kernels.gaussian_from_gram(gx, scale_x, kx)
                kernels.gaussian_from_gram(gy, scale_y, ky)
                kernels.signal_coefficients(kx, ky, rule.gamma, variant, beta)
                for z, scale, xi in zip(hidden_outputs[it % POOL], scales_z, xis):
                    kernels.global_signal(z, beta, scale, xi)
        return work

    def prepare_objective(n):
        def work():
            for it in range(n):
                x, y = windows[it % POOL]
                beta = signal_coefficients(gaussian_kernel(x, rule.sigma_x),
                                           gaussian_kernel(y, rule.sigma_y), rule.gamma,
                                           rule.variant)
                for z in hidden_outputs[it % POOL]:
                    global_signal(z, beta, rule.sigma_z)
        return work

    def prepare_forward(n):
        def work():
            for it in range(n):
                network.forward(windows[it % POOL][0])
        return work

    def prepare_predict(n):
        def work():
            for it in range(n):
                network.predict(windows[it % POOL][0])
        return work

    def prepare_adamw(n):
        fresh = make_mlp(arch.sizes, np.random.default_rng(5))
        parameters = fresh.parameters
        optimizer = AdamW(arch.lr)
        gradients = [1e-3 * np.ones_like(p) for p in parameters]
        opt_state = [optimizer.init(parameters)]

        def work():
            s = opt_state[0]
            for _ in range(n):
                s = optimizer.step(parameters, gradients, s)
            opt_state[0] = s
        return work

    return [Case(f"{key}_bio", prepare_step, check=finite_check(state)),
            Case(f"{key}_floor_numpy", bio_floor(arch, inputs, targets, "numpy")),
            Case(f"{key}_floor_outer", bio_floor(arch, inputs, targets, "kernels")),
            Case(f"{key}_kernels", prepare_kernels),
            Case(f"{key}_objective", prepare_objective),
            Case(f"{key}_forward", prepare_forward),
            Case(f"{key}_adamw", prepare_adamw),
            Case(f"{key}_predict", prepare_predict)]


def bio_floor(arch: Arch, inputs: np.ndarray, targets: np.ndarray, outer: str):
    """The bio step's matrix products alone; ``outer`` says who does the rank-one ones."""
    B, sizes = arch.window, arch.sizes
    network = make_mlp(sizes, np.random.default_rng(5))
    weights = [layer.weight for layer in network.layers]
    rng = np.random.default_rng(3)
    # Stand-ins for the layer outputs and cotangents: their values do not change the cost.
    cotangents = [rng.standard_normal(d) for d in sizes[1:-1]]
    readout_cotangent = rng.standard_normal((B, sizes[-1]))

    def prepare(n):
        outputs = [np.empty((B, d)) for d in sizes[1:]]
        gram_x, gram_y = np.empty((B, B)), np.empty((B, B))
        rows = [np.empty(B) for _ in sizes[1:-1]]
        rank_one = [np.empty((a, b)) for a, b in zip(sizes[:-2], sizes[1:-1])]
        readout = np.empty((sizes[-2], sizes[-1]))

        def work():
            for it in range(n):
                start = it % POOL
                x, y = inputs[start:start + B], targets[start:start + B]
                h = x
                for w, out in zip(weights, outputs):
                    np.matmul(h, w, out=out)
                    h = out
                np.matmul(x, x.T, out=gram_x)
                np.matmul(y, y.T, out=gram_y)
                below = x
                for z, row, delta, grad in zip(outputs, rows, cotangents, rank_one):
                    np.matmul(z, z[-1], out=row)
                    if outer == "numpy":
                        np.multiply(below[-1][:, None], delta[None, :], out=grad)
                    else:
                        kernels.outer(below[-1], delta, grad)
                    below = z
                np.matmul(outputs[-2].T, readout_cotangent, out=readout)
        return work
    return prepare


def backprop_cases(arch: Arch) -> list[Case]:
    inputs, targets, _ = stream(arch)
    n_batch, sizes, key = arch.batch, arch.sizes, arch.name
    state = {}

    def prepare_step(n):
        network = make_mlp(sizes, np.random.default_rng(5))
        optimizer = AdamW(arch.backprop_lr)
        parameters = network.parameters
        opt_state = [optimizer.init(parameters)]
        state["network"] = network

        def work():
            s = opt_state[0]
            for it in range(n):
                start = (it * n_batch) % POOL
                gradients, _ = backprop_gradients(network, inputs[start:start + n_batch],
                                                  targets[start:start + n_batch])
                s = optimizer.step(parameters, [g for layer in gradients for g in layer], s)
            opt_state[0] = s
        return work

    network = make_mlp(sizes, np.random.default_rng(5))
    weights = [layer.weight for layer in network.layers]
    deltas = [np.random.default_rng(3).standard_normal((n_batch, d)) for d in sizes[1:]]

    def prepare_floor(n):
        outputs = [np.empty((n_batch, d)) for d in sizes[1:]]
        grads = [np.empty(w.shape) for w in weights]
        below = [np.empty((n_batch, d)) for d in sizes[1:-1]]

        def work():
            for it in range(n):
                start = (it * n_batch) % POOL
                x = inputs[start:start + n_batch]
                h = x
                for w, out in zip(weights, outputs):
                    np.matmul(h, w, out=out)
                    h = out
                layer_inputs = [x, *outputs[:-1]]
                for index in range(len(weights) - 1, -1, -1):
                    np.matmul(layer_inputs[index].T, deltas[index], out=grads[index])
                    if index:
                        np.matmul(deltas[index], weights[index].T, out=below[index - 1])
        return work

    return [Case(f"{key}_bp", prepare_step, per_unit=n_batch, check=finite_check(state)),
            Case(f"{key}_bp_floor", prepare_floor, per_unit=n_batch)]


# --------------------------------------------------------------------------------------
# The PyTorch peers


class TorchNet:
    """The package's MLP in torch, its weights copied from a ``synlearn`` MLP."""

    def __init__(self, network, dtype):
        nn = torch.nn
        blocks = []
        for index, layer in enumerate(network.layers):
            fan_in, fan_out = layer.weight.shape
            linear = nn.Linear(fan_in, fan_out, dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.weight.T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.bias))
            if index < len(network.layers) - 1:
                blocks.append(nn.Sequential(linear, nn.ReLU(), nn.LayerNorm(
                    fan_out, eps=LAYER_NORM_EPS, elementwise_affine=False, dtype=dtype)))
            else:
                blocks.append(linear)
        self.hidden, self.readout = blocks[:-1], blocks[-1]
        self.model = nn.Sequential(*blocks)

    def optimizer(self, lr: float):
        return torch.optim.AdamW(self.model.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-8,
                                 weight_decay=1e-4)

    def gradients(self) -> list[tuple[np.ndarray, np.ndarray]]:
        layers = [block[0] for block in self.hidden] + [self.readout]
        return [(linear.weight.grad.T.numpy(), linear.bias.grad.numpy()) for linear in layers]


def torch_gaussian(a, scale):
    gram = a @ a.T
    diagonal = torch.diagonal(gram)
    squared = (diagonal[:, None] + diagonal[None, :] - 2.0 * gram).clamp_min_(0.0)
    return torch.exp(squared * (-0.5 / (scale * scale)))


def torch_coefficients(kx, ky, gamma: float, variant: str):
    """``signal_coefficients`` in torch (see synlearn.hsic.objective)."""
    n = kx.shape[0]
    norm = 1.0 / ((n - 1.0) ** 2)
    if variant == "exact":
        k = kx - gamma * ky
        centred = k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()
        beta = -centred[-1] * norm
    else:
        c = (torch.diagonal(kx) - kx.mean(1)) - gamma * (torch.diagonal(ky) - ky.mean(1))
        beta = (c[-1].expand(n) if variant == "release" else c + c[-1]) * (norm / n)
    beta[-1] = 0.0
    return beta


def torch_bio_backward(net: TorchNet, x, y, labels, rule: BioRule, scales) -> None:
    """The bio step's gradients into ``.grad``: each hidden layer's ``z_N . xi`` and the
    readout's window cross-entropy, on detached inputs so that no error crosses layers."""
    with torch.no_grad():
        beta = torch_coefficients(torch_gaussian(x, scales[0]), torch_gaussian(y, scales[1]),
                                  rule.gamma, rule.variant)
    total = 0.0
    h = x
    for block, scale in zip(net.hidden, scales[2:]):
        z = block(h.detach())
        with torch.no_grad():
            diff = z[-1] - z
            inv = 1.0 / (scale * scale)
            weight = beta * (2.0 * inv) * torch.exp(-0.5 * inv * (diff * diff).sum(1))
            xi = weight @ diff
        total = total + (z[-1] * xi).sum()
        h = z
    total = total + torch.nn.functional.cross_entropy(net.readout(h.detach()), labels)
    total.backward()


def torch_scales(arch: Arch) -> list[float]:
    rule = arch.rule
    return [kernel_scale(rule.sigma_x, arch.sizes[0]), kernel_scale(rule.sigma_y, arch.sizes[-1]),
            *(kernel_scale(rule.sigma_z, d) for d in arch.sizes[1:-1])]


def torch_check(arch: Arch) -> tuple[float, float]:
    """The largest relative gradient differences of the peers (bio, back-prop)."""
    inputs, targets, labels = stream(arch)
    scales = torch_scales(arch)

    def difference(ours, theirs):
        return max(float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))
                   for layer_a, layer_b in zip(ours, theirs) for a, b in zip(layer_a, layer_b))

    network = make_mlp(arch.sizes, np.random.default_rng(5))
    net = TorchNet(network, torch.float64)
    B = arch.window
    ours = bio_window_step(network, inputs[:B], targets[:B], arch.rule).gradients
    torch_bio_backward(net, torch.from_numpy(inputs[:B]), torch.from_numpy(targets[:B]),
                       torch.from_numpy(labels[:B]), arch.rule, scales)
    bio = difference(ours, net.gradients())
    net = TorchNet(network, torch.float64)
    m = arch.batch
    ours = backprop_gradients(network, inputs[:m], targets[:m])[0]
    torch.nn.functional.cross_entropy(net.model(torch.from_numpy(inputs[:m])),
                                      torch.from_numpy(labels[:m])).backward()
    return bio, difference(ours, net.gradients())


def torch_cases(arch: Arch) -> list[Case]:
    inputs, targets, labels = stream(arch)
    scales = torch_scales(arch)
    B, m, key = arch.window, arch.batch, arch.name

    def tensors(dtype):
        return (torch.from_numpy(inputs).to(dtype), torch.from_numpy(targets).to(dtype),
                torch.from_numpy(labels))

    def prepare_bio(n):
        net = TorchNet(make_mlp(arch.sizes, np.random.default_rng(5)), torch.float64)
        optimizer = net.optimizer(arch.lr)
        x, y, c = tensors(torch.float64)

        def work():
            for it in range(n):
                start = it % POOL
                optimizer.zero_grad(set_to_none=True)
                torch_bio_backward(net, x[start:start + B], y[start:start + B],
                                   c[start:start + B], arch.rule, scales)
                optimizer.step()
        return work

    def prepare_bp(dtype):
        def prepare(n):
            net = TorchNet(make_mlp(arch.sizes, np.random.default_rng(5)), dtype)
            optimizer = net.optimizer(arch.backprop_lr)
            x, _, c = tensors(dtype)
            loss_of = torch.nn.functional.cross_entropy

            def work():
                for it in range(n):
                    start = (it * m) % POOL
                    optimizer.zero_grad(set_to_none=True)
                    loss_of(net.model(x[start:start + m]), c[start:start + m]).backward()
                    optimizer.step()
            return work
        return prepare

    return [Case(f"{key}_torch_bio", prepare_bio),
            Case(f"{key}_torch_bp", prepare_bp(torch.float64), per_unit=m),
            Case(f"{key}_torch_bp32", prepare_bp(torch.float32), per_unit=m)]


# --------------------------------------------------------------------------------------
# Output


def rate(seconds: float) -> str:
    """Samples per second from seconds per sample."""
    return "-" if math.isnan(seconds) else f"{1.0 / seconds:.4g}"


def report(arch: Arch, c: harness.Results, checked: tuple | None) -> dict:
    """Print one architecture's tables; return what the summary and projection need."""
    k = arch.name
    floor_numpy, floor_outer = c[f"{k}_floor_numpy"], c[f"{k}_floor_outer"]
    floor = min(floor_numpy, floor_outer)
    floor_name = "kernels.outer" if floor_outer <= floor_numpy else "NumPy multiply"
    step = c[f"{k}_bio"]
    peers = f"{k}_torch_bio" in c
    print(f"\n== {arch.label}: bio rule, window B = {arch.window} ({arch.rule.variant} xi, "
          f"gamma {arch.rule.gamma:g}), per window step (= one sample) ==")
    floors = {"F": floor}
    if peers:
        floors["P"] = c[f"{k}_torch_bio"]
    floors["step"] = step

    def measured(label, key):
        return Row(label, c[key], c.spread(key))
    rows = [Row(f"floor F = the faster: rank-one by {floor_name}", floor),
            measured("F1: products, rank-one by NumPy broadcast multiply", f"{k}_floor_numpy"),
            measured("F2: products, rank-one by kernels.outer", f"{k}_floor_outer"),
            measured("bio step: bio_window_step + AdamW.step", f"{k}_bio"),
            measured("of which window kernels (Numba, from the Grams)", f"{k}_kernels"),
            measured("of which window kernels via objective (+ Grams)", f"{k}_objective"),
            measured("of which network.forward of the window", f"{k}_forward"),
            measured("of which AdamW.step over every parameter", f"{k}_adamw"),
            measured("not in the step: train_bio's accuracy forward", f"{k}_predict")]
    if peers:
        rows.append(measured("PyTorch peer P: the bio step in torch, float64",
                             f"{k}_torch_bio"))
    print(floor_table(rows, floors, unit="us/step"))

    bp, bp_floor = c[f"{k}_bp"], c[f"{k}_bp_floor"]
    print(f"\n== {arch.label}: back-prop, minibatch of {arch.batch}, per sample "
          f"(step / {arch.batch}) ==")
    floors = {"Fb": bp_floor}
    rows = [measured(f"floor Fb: forward and backward products of {arch.batch}",
                     f"{k}_bp_floor"),
            measured("back-prop step: backprop_gradients + AdamW.step", f"{k}_bp")]
    if peers:
        floors["Pb"] = c[f"{k}_torch_bp"]
        rows += [measured("PyTorch peer Pb: nn.Sequential + AdamW, float64", f"{k}_torch_bp"),
                 measured("PyTorch, float32 (information)", f"{k}_torch_bp32")]
    print(floor_table(rows, floors, unit="us/sample"))
    if checked:
        print(f"  torch peers' gradients against the package's (max relative difference): "
              f"bio {checked[0]:.1e}, back-prop {checked[1]:.1e}")
    return {"step": step, "floor": floor, "kernels": c[f"{k}_kernels"] / step,
            "objective": c[f"{k}_objective"] / step, "predict": c[f"{k}_predict"],
            "peer": c.get(f"{k}_torch_bio"), "bp": bp, "bp_floor": bp_floor,
            "bp_peer": c.get(f"{k}_torch_bp")}


def summary(archs: list[Arch], measured: dict) -> None:
    print("\n== training samples per second (one thread) ==")
    rows = []
    for arch in archs:
        m = measured[arch.name]
        rows.append([arch.label, f"bio, B = {arch.window}", rate(m["step"]), rate(m["floor"]),
                     ratio(m["step"] / m["floor"]), rate(m["peer"]),
                     ratio(m["step"] / m["peer"]), pct(m["kernels"])])
        rows.append([arch.label, f"back-prop, {arch.batch}", rate(m["bp"]),
                     rate(m["bp_floor"]), ratio(m["bp"] / m["bp_floor"]), rate(m["bp_peer"]),
                     ratio(m["bp"] / m["bp_peer"]), ""])
    print(table(["model", "rule", "samples/s", "floor samples/s", "x floor", "torch samples/s",
                 "x torch", "window kernels"], rows))
    for arch in archs:
        m = measured[arch.name]
        print(f"  window-kernel share of the bio step, {arch.label}: {pct(m['kernels'])} "
              f"(Numba kernels), {pct(m['objective'])} (through objective, Gram products "
              f"included)")


def project(config_path: Path, config: dict, measured: dict) -> None:
    section = config["hsic"]
    if "digits" not in measured or "digits" not in section["studies"]["main"]["tasks"]:
        return
    m = measured["digits"]
    n_train = len(digits_train_test()[0].labels)
    window = int(section["tasks"]["digits"]["window"])
    models, epochs = int(section["models"]), int(section["epochs"])
    steps = models * epochs * (n_train - window + 1)
    seconds = steps * m["step"]
    with_accuracy = steps * (m["step"] + m["predict"])
    print(f"\n== projected CPU time of {config_path.name}'s digits bio work (study main) ==")
    print(f"  {models} models x {epochs} epochs x ({n_train} - {window} + 1) steps = {steps} "
          f"window steps x {m['step'] * 1e6:.0f} us = {seconds:.0f} CPU s "
          f"({seconds / 3600:.2f} CPU h)")
    print(f"  with train_bio's accuracy forward each step: {with_accuracy:.0f} CPU s "
          f"({with_accuracy / 3600:.2f} CPU h); per-epoch evaluation not counted")


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__.splitlines()[0], rounds=7, quick_rounds=3, seconds=0.1,
                            quick_seconds=0.02)
    parser.add_argument("--tasks", nargs="+", choices=list(TASK_SHAPES),
                        default=list(TASK_SHAPES))
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--no-projection", action="store_true")
    args = parser.parse_args(argv)
    rounds, seconds = harness.timing(args)
    config = yaml.safe_load(args.config.read_text())
    archs = architectures(config, args.tasks)

    started = harness.banner(__doc__.splitlines()[0], rounds, seconds)
    if torch is None:
        print("PyTorch peer rows skipped: torch is not installed (it is in the bench extra: "
              "pip install -e .[bench])")
    else:
        torch.set_num_threads(1)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")

    measured = {}
    for index, arch in enumerate(archs):
        cases = bio_cases(arch) + backprop_cases(arch)
        checked = None
        if torch is not None:
            cases += torch_cases(arch)
            checked = torch_check(arch)
        results = harness.measure(cases, seconds, rounds, seed=index)
        for warning in results.warnings():
            print(f"  warning: {warning}")
        measured[arch.name] = report(arch, results, checked)

    summary(archs, measured)
    if not args.no_projection:
        project(args.config, config, measured)
    harness.footer(started)


if __name__ == "__main__":
    main()
