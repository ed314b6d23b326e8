"""Information-bottleneck (HSIC) three-factor Hebbian learning.

Daruwalla, K. & Lipasti, M. (2024). Information bottleneck-based Hebbian learning rule
naturally ties working memory and synaptic updates. Front. Comput. Neurosci. 18,
1240348. Each hidden layer of an MLP descends ``HSIC(X, Z_l) - gamma HSIC(Y, Z_l)`` over
a short window of recent samples through a per-neuron global signal pulled back through
that layer alone; the readout learns by the window's cross-entropy; a back-prop
baseline trains the same network end to end.

Modules: ``kernels`` (Numba), ``objective`` (kernels, HSIC, the global signal),
``layers`` (the layer protocol, ``Dense``, ``Readout``, ``MLP``), ``optim`` (AdamW,
SGD), ``tasks`` (the linear and XOR tasks), ``training`` (the window step and the
training loops).
"""
