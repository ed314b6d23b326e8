"""Training speed of the HSIC CNN (CIFAR-10) against its matrix-product floor and PyTorch.

What is measured, for each width (``--widths``; default the paper's 128/256 and the
reduced 16/32), on random 32x32x3 inputs and labels, one thread:

1. The bio step: ``training.bio_window_step`` on a window of B samples (forward of the
   B samples through both conv blocks and the readout, the kernels, xi per block, its
   pull-back through that block for the current sample, the readout's gradient) plus
   ``AdamW.step``, as ``train_bio`` takes it. The window slides by one sample a step.
2. Floor F: that step's matrix products alone, with preallocated outputs: the im2col
   products ``columns @ W`` of the B samples for both blocks and the readout's
   ``x W``, and the pull-back's ``columns_N^T delta_N`` of each block (one sample) and
   the readout's ``Z^T G`` (on arrays prepared outside the timing, so im2col, LayerNorm,
   pooling and the kernels are not in F).
3. The accuracy forward ``train_stream`` runs after each update (``predict`` of the B
   samples; not in the step, but in the projection).
4. Back-prop: one minibatch step of ``--batch`` samples (``backprop_gradients`` +
   ``AdamW.step``) against floor Fb: forward products, ``columns^T delta`` of every
   layer and ``delta W^T`` of every layer but the first.
5. Peer P (when torch imports): the same back-prop step in PyTorch on CPU, float64
   (``conv2d``, ``relu``, ``layer_norm`` over channels without affine, ``avg_pool2d``,
   ``linear``, cross-entropy, ``backward``) and float32 for information; one thread.
6. Projected CPU time per model: 50 epochs of 50000 images, bio (``n - B + 1`` steps an
   epoch, each with its accuracy forward, plus the per-epoch test evaluation) and
   back-prop (``ceil(n / batch)`` steps an epoch).

Usage (BLAS and torch pinned to one thread):
    python benchmarks/hsic_conv.py                 (about a minute on 2 cores)
    python benchmarks/hsic_conv.py --widths 16,32 --rounds 5
"""

from __future__ import annotations

import harness  # noqa: I001  (first: pins BLAS threads before NumPy loads)

import math  # noqa: E402

import numpy as np  # noqa: E402

from harness import Case, Row, floor_table  # noqa: E402
from synlearn.hsic.conv import ConvBlock, im2col, make_cnn, multiply_adds  # noqa: E402
from synlearn.hsic.optim import AdamW  # noqa: E402
from synlearn.hsic.training import BioRule, backprop_gradients, bio_window_step  # noqa: E402

try:  # the benchmark extra; without it, no peer rows
    import torch  # noqa: E402
except ImportError:  # pragma: no cover
    torch = None

SHAPE = (32, 32, 3)
POOL = 64
RULE = BioRule("release", 50.0, 1.0, 0.2, 0.5)  # issue 11: gamma 50, sigmas 1 / 0.2 / 0.5
N_TRAIN, N_TEST, EPOCHS = 50000, 10000, 50


def stream(count: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    return rng.standard_normal((count, int(np.prod(SHAPE)))), np.eye(10)[labels]


def step_cases(channels, window: int, batch: int) -> list[Case]:
    key = "-".join(map(str, channels))
    inputs, targets = stream(POOL + max(window, batch))
    cases = []

    def prepare_bio(n):
        network = make_cnn(np.random.default_rng(5), channels)
        optimizer, parameters = AdamW(1e-5), network.parameters
        state = [optimizer.init(parameters)]

        def work():
            s = state[0]
            for it in range(n):
                start = it % POOL
                step = bio_window_step(network, inputs[start:start + window],
                                       targets[start:start + window], RULE)
                s = optimizer.step(parameters, [g for layer in step.gradients for g in layer], s)
            state[0] = s
        return work

    def prepare_backprop(n):
        network = make_cnn(np.random.default_rng(5), channels)
        optimizer, parameters = AdamW(5e-4), network.parameters
        state = [optimizer.init(parameters)]

        def work():
            s = state[0]
            for it in range(n):
                start = it % POOL
                gradients, _ = backprop_gradients(network, inputs[start:start + batch],
                                                  targets[start:start + batch])
                s = optimizer.step(parameters, [g for layer in gradients for g in layer], s)
            state[0] = s
        return work

    def prepare_predict(n):
        network = make_cnn(np.random.default_rng(5), channels)

        def work():
            for it in range(n):
                network.predict(inputs[it % POOL:it % POOL + window])
        return work

    cases += [Case(f"{key} bio", prepare_bio), Case(f"{key} bp", prepare_backprop),
              Case(f"{key} predict", prepare_predict)]
    cases += floor_cases(key, channels, inputs, window, batch)
    if torch is not None:
        cases += torch_cases(key, channels, inputs, targets, batch)
    return cases


def floor_cases(key, channels, inputs, window, batch) -> list[Case]:
    """The matrix products of a bio step (F) and of a back-prop step (Fb), alone."""
    network = make_cnn(np.random.default_rng(5), channels)
    blocks = [layer for layer in network.layers if isinstance(layer, ConvBlock)]
    readout = network.layers[-1]

    def products(count):
        """Per layer (columns (count H W, K), weight, delta, d columns) for ``count``."""
        outputs, caches = network.forward(inputs[:count])
        items = []
        for block, cache in zip(blocks, caches):
            columns = cache.columns
            delta = np.ones((columns.shape[0], block.out_channels))
            items.append((columns, block.weight, delta, np.empty_like(columns)))
        x = outputs[len(blocks) - 1]
        items.append((x, readout.weight, np.ones((count, readout.weight.shape[1])),
                      np.empty_like(x)))
        return items

    window_items, batch_items = products(window), products(batch)
    out = {id(w): np.empty((c.shape[0], w.shape[1])) for c, w, _, _ in window_items}
    out_b = {id(w): np.empty((c.shape[0], w.shape[1])) for c, w, _, _ in batch_items}
    grads = [np.empty_like(w) for _, w, _, _ in window_items]

    def prepare_bio_floor(n):
        def work():
            for _ in range(n):
                for (columns, weight, delta, _), g in zip(window_items, grads):
                    np.matmul(columns, weight, out=out[id(weight)])
                for index, ((columns, weight, delta, _), g) in enumerate(
                        zip(window_items, grads)):
                    if index < len(blocks):  # the current sample's H W rows
                        rows = columns.shape[0] // window
                        np.matmul(columns[-rows:].T, delta[-rows:], out=g)
                    else:                    # the readout: the whole window
                        np.matmul(columns.T, delta, out=g)
        return work

    def prepare_bp_floor(n):
        def work():
            for _ in range(n):
                for columns, weight, _, _ in batch_items:
                    np.matmul(columns, weight, out=out_b[id(weight)])
                for index, ((columns, weight, delta, d_columns), g) in enumerate(
                        zip(batch_items, grads)):
                    np.matmul(columns.T, delta, out=g)
                    if index:
                        np.matmul(delta, weight.T, out=d_columns)
        return work

    def prepare_im2col(n):
        images = inputs[:window].reshape(window, *SHAPE)

        def work():
            for _ in range(n):
                im2col(images)
        return work

    return [Case(f"{key} F", prepare_bio_floor), Case(f"{key} Fb", prepare_bp_floor),
            Case(f"{key} im2col input", prepare_im2col)]


def torch_cases(key, channels, inputs, targets, batch) -> list[Case]:
    """Pb: one back-prop step of the same CNN in PyTorch (float64; float32 for info)."""
    import torch.nn.functional as F

    def build(dtype):
        generator = torch.Generator().manual_seed(0)
        shapes, c_in, size = [], 3, 32
        for c in channels:
            shapes += [(c, c_in, 3, 3), (c,)]
            c_in, size = c, size // 2
        shapes += [(10, c_in * size * size), (10,)]
        params = [(torch.randn(*s, generator=generator, dtype=dtype) * 0.05).requires_grad_()
                  for s in shapes]
        return params

    def forward(params, x):
        for weight, bias in zip(params[:-2:2], params[1:-2:2]):
            x = F.conv2d(x, weight, bias, padding=1).relu()
            x = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), eps=1e-6).permute(0, 3, 1, 2)
            x = F.avg_pool2d(x, 2)
        return F.linear(x.flatten(1), params[-2], params[-1])

    def prepare(dtype):
        def prepare_n(n):
            params = build(dtype)
            optimizer = torch.optim.AdamW(params, lr=5e-4, betas=(0.9, 0.99), weight_decay=1e-4)
            x = torch.tensor(inputs[:POOL + batch].reshape(-1, *SHAPE), dtype=dtype
                             ).permute(0, 3, 1, 2).contiguous()
            y = torch.tensor(targets[:POOL + batch].argmax(axis=1))

            def work():
                for it in range(n):
                    start = it % POOL
                    optimizer.zero_grad()
                    loss = F.cross_entropy(forward(params, x[start:start + batch]),
                                           y[start:start + batch])
                    loss.backward()
                    optimizer.step()
            return work
        return prepare_n

    return [Case(f"{key} torch bp f64", prepare(torch.float64)),
            Case(f"{key} torch bp f32", prepare(torch.float32))]


def report(channels, window, batch, results: harness.Results) -> dict:
    key = "-".join(map(str, channels))
    floors = {"F": results[f"{key} F"], "Fb": results[f"{key} Fb"]}
    has_torch = f"{key} torch bp f64" in results
    if has_torch:
        floors["P"] = results[f"{key} torch bp f64"]
    rows = [Row(f"bio step (B = {window})", results[f"{key} bio"], results.spread(f"{key} bio"),
                ("F", 2.0)),
            Row("  floor F (its products)", results[f"{key} F"], results.spread(f"{key} F")),
            Row(f"  accuracy forward ({window})", results[f"{key} predict"],
                results.spread(f"{key} predict")),
            Row("  im2col of the input", results[f"{key} im2col input"],
                results.spread(f"{key} im2col input")),
            Row(f"back-prop step ({batch})", results[f"{key} bp"], results.spread(f"{key} bp"),
                ("Fb", 2.0)),
            Row("  floor Fb (its products)", results[f"{key} Fb"], results.spread(f"{key} Fb"))]
    if has_torch:
        for dtype in ("f64", "f32"):
            name = f"{key} torch bp {dtype}"
            rows.append(Row(f"  peer: torch bp step {dtype}", results[name], results.spread(name)))
    network = make_cnn(np.random.default_rng(0), channels)
    counts = multiply_adds(network)
    print(f"\n== CNN 3-{key}-10, 32x32x3: {counts['forward'] / 1e6:.1f} M multiply-adds per "
          f"sample forward ==")
    print(floor_table(rows, floors, unit="ms", fmt=lambda s: f"{s * 1e3:.2f}"))
    flops = 2 * (window * counts["forward"] + counts["weight_gradient"])
    print(f"  floor F runs at {flops / results[f'{key} F'] / 1e9:.1f} GFLOP/s "
          f"({flops / 1e9:.2f} GFLOP a bio step)")
    if not has_torch:
        print("  PyTorch peer rows skipped: torch is not importable")
    return {"bio": results[f"{key} bio"], "bp": results[f"{key} bp"],
            "predict": results[f"{key} predict"]}


def project(channels, window, batch, m: dict) -> None:
    forward_per_sample = m["predict"] / window
    bio_epoch = (N_TRAIN - window + 1) * (m["bio"] + m["predict"]) + N_TEST * forward_per_sample
    bp_epoch = (math.ceil(N_TRAIN / batch) * (m["bp"] + m["predict"] * batch / window)
                + N_TEST * forward_per_sample)
    start = (N_TRAIN + N_TEST) * forward_per_sample
    key = "-".join(map(str, channels))
    for name, epoch in (("bio", bio_epoch), ("back-prop", bp_epoch)):
        total = start + EPOCHS * epoch
        print(f"  projection {key} {name}: {epoch / 3600:.2f} CPU h per epoch of {N_TRAIN}; "
              f"{EPOCHS} epochs {total / 3600:.1f} CPU h per model")


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__.splitlines()[0], rounds=5, quick_rounds=3, seconds=0.3,
                            quick_seconds=0.1)
    parser.add_argument("--widths", nargs="+", default=["128,256", "16,32"])
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args(argv)
    rounds, seconds = harness.timing(args)
    started = harness.banner(__doc__.splitlines()[0], rounds, seconds)
    if torch is not None:
        torch.set_num_threads(1)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")
    for index, widths in enumerate(args.widths):
        channels = tuple(int(c) for c in widths.split(","))
        results = harness.measure(step_cases(channels, args.window, args.batch), seconds,
                                  rounds, seed=index)
        measured = report(channels, args.window, args.batch, results)
        project(channels, args.window, args.batch, measured)
    harness.footer(started)


if __name__ == "__main__":
    main()
