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
