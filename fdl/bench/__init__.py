"""fdl's benchmarks: fdl timed against the libraries a user would otherwise pick.

Installed with fdl (the ``bench`` extra installs the peers)::

    fdl bench                            # every workload, full length
    fdl bench --quick                    # fewer steps, skips the 60,000-point KNN
    fdl bench --only W1,W3               # some workloads
    fdl bench --gpu                      # ResNet-9 and ResNet-18 on a CUDA GPU (gpu.py)
    python -m benchmarks ...             # the same, from a repository checkout

Every workload runs its implementations one after another in the same process, on the
same shapes, dtype (float32), hyperparameters and random data, and alternates between
them while timing so that other load on the machine slows them alike. A peer library
that is not installed is reported as such; fdl's own rows always run.

Modules: ``timing`` (interleaved medians), ``machine`` (platform slug, matmul ceiling),
``peers`` (which peer libraries import), ``mlp`` (W1, W2), ``cnn`` (W3), ``resnet`` (R1),
``conv`` (C1, P1), ``knn`` (K1, K2), ``report`` (table and JSON), ``options`` and ``cli``
(argument parsing), ``gpu`` (the GPU script), ``flops`` (the ResNets' analytic FLOP
counts), ``torch_nets`` (the PyTorch ResNets).
"""
