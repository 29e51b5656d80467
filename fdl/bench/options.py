"""The options of ``fdl bench`` and ``python -m benchmarks``, in one place.

Declared without importing the harness, so that ``fdl --help`` stays light (the harness
imports the benchmark code and sets OpenMP's wait policy when imported).
"""

# The CPU workloads, in table order (fdl.bench.cli.WORKLOADS holds how each runs).
WORKLOAD_KEYS = ("W1", "W2", "W3", "R1", "C1.1", "C1.2", "P1", "K1", "K2")
# The GPU script's models (fdl.bench.gpu.MODELS).
GPU_MODELS = ("resnet9", "resnet18")


def add_arguments(parser):
    """Adds the options shared by ``python -m benchmarks`` and ``fdl bench``."""
    parser.add_argument("--quick", action="store_true",
                        help="fewer steps and rounds; skip K2 (the 60,000-point KNN); with "
                        "--gpu, 3 rounds of 10 steps")
    parser.add_argument("--only", metavar="KEYS",
                        help=f"comma-separated workloads to run, from {', '.join(WORKLOAD_KEYS)} "
                        "(a prefix selects a group: C1 = C1.1,C1.2)")
    parser.add_argument("--out", metavar="PATH",
                        help="JSON results file (default: benchmarks/results/<machine>.json)")
    parser.add_argument("--no-matmul", action="store_true",
                        help="skip measuring the matmul ceiling (no FLOP-rate shares)")
    gpu = parser.add_argument_group(
        "GPU", "ResNet-9 (CIFAR, batch 512) and ResNet-18 (224x224, batch 128) training steps "
        "on a CUDA GPU: fdl float32 and bfloat16 against PyTorch float32 (TF32) and bf16 "
        "autocast, with the GPU's bf16 matmul rate as the ceiling")
    gpu.add_argument("--gpu", action="store_true",
                     help="run the GPU benchmark instead of the CPU workloads (fails in one "
                     "line without a CUDA GPU, unless --tiny)")
    gpu.add_argument("--gpu-only", metavar="MODELS",
                     help=f"comma-separated models for --gpu, from {', '.join(GPU_MODELS)} "
                     "(implies --gpu)")
    gpu.add_argument("--tiny", action="store_true",
                     help="with --gpu: batch 2 and small images, 2 steps x 2 rounds, on whatever "
                     "device JAX has (a test of the GPU script on a CPU)")
