"""Per-layer activation histograms as a PNG."""

import numpy as np
import pytest

from fdl import viz

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("form", ["list", "pairs", "dict"])
def test_writes_a_png(tmp_path, form):
    rng = np.random.default_rng(0)
    layers = [np.tanh(rng.standard_normal((50, 20)) * s) for s in (0.1, 1.0, 3.0)]
    if form == "pairs":
        layers = [(f"{i}:Tanh", a) for i, a in enumerate(layers)]
    elif form == "dict":
        layers = {f"layer {i}": a for i, a in enumerate(layers)}
    path = tmp_path / "hist.png"
    assert viz.plot_activation_histograms(layers, path, value_range=(-1, 1)) == path
    assert [p.name for p in tmp_path.iterdir()] == ["hist.png"]  # no temporary file left
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_titles_show_mean_and_std(tmp_path, monkeypatch):
    from fdl.viz import _histograms

    titles = []
    saved = _histograms.save_figure

    def capture(fig, path):
        titles.extend(ax.get_title() for ax in fig.axes)
        return saved(fig, path)

    monkeypatch.setattr(_histograms, "save_figure", capture)
    a = np.array([[1.0, 3.0], [1.0, 3.0]])
    viz.plot_activation_histograms([("conv", a)], tmp_path / "h.png")
    assert titles == ["conv\nmean 2, std 1"]


@pytest.mark.parametrize("bad, error", [
    ([], ValueError), ([np.zeros((0,))], ValueError), ([np.array([np.inf])], ValueError),
    (np.zeros((3, 4)), TypeError), ([["a", "b"]], TypeError),
])
def test_bad_inputs_raise(tmp_path, bad, error):
    with pytest.raises(error, match="activations"):
        viz.plot_activation_histograms(bad, tmp_path / "h.png")
    assert not any(tmp_path.iterdir())


def test_bad_options_raise(tmp_path):
    layers = [np.zeros(4)]
    for kwargs, name in (({"bins": 0}, "bins"), ({"value_range": (1, 0)}, "value_range"),
                         ({"ncols": -1}, "ncols")):
        with pytest.raises(ValueError, match=name):
            viz.plot_activation_histograms(layers, tmp_path / "h.png", **kwargs)
    assert not any(tmp_path.iterdir())
