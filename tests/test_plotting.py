"""Tests for gruae.plotting helpers that compute something: error frames and tables."""

from __future__ import annotations

import numpy as np
import torch

from gruae.plotting import Table, error_frames, table


def test_error_frames_scale_and_clip():
    e = torch.tensor([[[0.0, 0.5], [1.0, 2.0]]])
    out = error_frames(e, vmax=1.0)
    assert out.dtype == np.uint8 and out.tolist() == [[[0, 128], [255, 255]]]
    auto = error_frames(np.linspace(0, 1, 1000).reshape(10, 10, 10))
    assert auto.max() == 255 and auto.min() == 0


def test_table_markdown_and_html():
    t = table([{"model": "GRU-AE", "AUC": 0.91234, "params": 1234}, {"model": "<b>", "AUC": 0.5, "params": 7}], digits=3)
    assert isinstance(t, Table)
    md = t._repr_markdown_()
    assert md.splitlines()[0] == "| model | AUC | params |"
    assert "| GRU-AE | 0.912 | 1,234 |" in md
    html = t._repr_html_()
    assert html.startswith('<table class="table">') and "&lt;b&gt;" in html and "<td>0.912</td>" in html


def test_show_snapshots_crops_clips():
    import matplotlib.pyplot as plt

    from gruae.plotting import show_snapshots

    size = 4
    grid = np.zeros((2 * (2 * size) + 1, 3 * size), np.uint8)  # two clips of 3 frames, one separator row
    fig = show_snapshots({10: grid, 0: grid}, size, clips=1)
    axes = fig.axes
    assert [a.get_title(loc="left").split(":")[0] for a in axes] == ["step 0", "step 10"]
    assert axes[0].images[0].get_array().shape == (2 * size, 3 * size)
    assert show_snapshots({0: grid}, size).axes[0].images[0].get_array().shape == grid.shape
    plt.close("all")


def test_shade_intervals_one_span_per_run():
    import matplotlib.pyplot as plt

    from gruae.plotting import shade_intervals

    fig, ax = plt.subplots()
    handles = shade_intervals(ax, torch.tensor([0, 1, 1, 0, 2, 2, 1, 0]), ["normal", "runner", "cart"])
    spans = [p for p in ax.patches]
    assert len(spans) == 3 and [h.get_label() for h in handles] == ["runner", "cart"]
    xs = sorted(round(p.get_x() + 0.5) for p in spans)  # first frame of each run
    assert xs == [1, 4, 6]
    plt.close(fig)


def test_show_frame_and_threshold_figures():
    import matplotlib.pyplot as plt

    from gruae.plotting import show_frame, show_threshold

    fig = show_frame([np.zeros((3, 8, 8), np.uint8), torch.zeros(2, 1, 8, 8)], ["a", "b"], t=2)
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "b"
    fig = show_threshold(np.array([0.1, 0.9, 0.2, 0.8]), np.array([0, 1, 0, 0]), 0.5, slice(0, 4),
                         types=np.array([0, 1, 0, 0]), names=["normal", "runner"])
    assert "detects 100%, false alarms 33%, precision 50%" in fig.axes[0].get_title()
    plt.close("all")


def test_glue_without_myst_nb_does_nothing(monkeypatch):
    import sys

    from gruae.plotting import glue

    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb raises ImportError
    assert glue("name", table([{"a": 1}])) is None


def test_sliders_off_draws_the_figure_once(monkeypatch):
    from gruae import plotting

    drawn = []
    monkeypatch.setenv("GRUAE_SLIDERS", "off")
    monkeypatch.setattr("matplotlib.pyplot.show", lambda: None)
    plotting._slider(drawn.append, "t", ("int", 0, 9, 1), 3)
    assert drawn == [3]  # no widget, one figure at the default value
