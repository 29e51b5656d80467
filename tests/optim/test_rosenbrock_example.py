"""examples/optimizers_rosenbrock.py runs (``--quick``), plots, and shows what it claims:
the second-order solvers reach (1, 1) in a few dozen steps, where gradient descent has not
in 500."""

import importlib.util
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "optimizers_rosenbrock.py"


def test_rosenbrock_example_quick(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("optimizers_rosenbrock", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "rosenbrock.png"
    returned = module.main(["--quick", "--plot", str(out)])
    printed = capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and returned["plots"] == [str(out)]
    results = returned["results"]
    for name in ("newton", "bfgs", "lbfgs"):
        assert name in printed
        # float32 solves to ||g||_inf <= 1e-5: x* to ~1e-5 on this conditioning, 1e-4 margin.
        np.testing.assert_allclose(results[name]["x"], [1.0, 1.0], atol=1e-4, err_msg=name)
        assert results[name]["steps"] <= 50
    # Newton: ~20 steps (Nocedal & Wright report 21 from this start).
    assert results["newton"]["steps"] <= 25
    assert results["sgd"]["steps"] == 500
    assert np.linalg.norm(np.asarray(results["sgd"]["x"]) - 1.0) > 0.5
