"""Pictures of videos: frame strips, grids and animations that play in the built book.

Every function takes uint8 or float frames in any of the layouts the package uses —
``(T, H, W)``, ``(T, C, H, W)`` or ``(T, H, W, C)``; float in ``[-1, 1]`` — and returns the
matplotlib figure (or an HTML animation), never changing matplotlib's global settings.
Animations use ``FuncAnimation.to_jshtml``: a self-contained player that works in the built
website and in Colab, with PNG frames kept small.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

__all__ = ["as_frames", "error_frames", "show_strip", "show_rows", "show_frame", "animate", "Table", "table",
           "show_curves", "show_snapshots", "anomaly_colors", "shade_intervals", "show_threshold", "frame_slider",
           "threshold_slider", "glue"]


def as_frames(video) -> np.ndarray:
    """Normalise a video to uint8 ``(T, H, W)`` (grey) or ``(T, H, W, 3)`` (colour).

    Args:
        video: array or tensor ``(T, H, W)``, ``(T, 1|3, H, W)`` or ``(T, H, W, 1|3)``; uint8, or
            float in ``[-1, 1]``.

    Returns:
        A uint8 numpy array.
    """
    if isinstance(video, torch.Tensor):
        video = video.detach().float().cpu().numpy() if video.is_floating_point() else video.cpu().numpy()
    v = np.asarray(video)
    if v.dtype != np.uint8:
        v = np.round((np.clip(v, -1, 1) + 1) * 127.5).astype(np.uint8)
    if v.ndim == 4 and v.shape[1] in (1, 3) and v.shape[-1] not in (1, 3):
        v = v.transpose(0, 2, 3, 1)  # (T, C, H, W) -> (T, H, W, C)
    if v.ndim == 4 and v.shape[-1] == 1:
        v = v[..., 0]
    if v.ndim not in (3, 4):
        raise ValueError(f"expected a video (T, H, W) or (T, C, H, W), got shape {v.shape}")
    return v


def error_frames(errors, vmax: float | None = None) -> np.ndarray:
    """Turn error maps into grey frames for display: 0 black, ``vmax`` and above white.

    Args:
        errors: float ``(T, H, W)`` error maps (e.g. :func:`gruae.scoring.pixel_errors`).
        vmax: the error shown white (default: the 99.5th percentile of ``errors``, so a few
            extreme pixels do not make everything else black). Use one ``vmax`` for maps you compare.

    Returns:
        uint8 ``(T, H, W)``.
    """
    e = errors.detach().float().cpu().numpy() if isinstance(errors, torch.Tensor) else np.asarray(errors, np.float32)
    vmax = float(np.percentile(e, 99.5)) if vmax is None else float(vmax)
    return np.round(np.clip(e / max(vmax, 1e-12), 0, 1) * 255).astype(np.uint8)


def _imshow(ax, img) -> None:
    """Show one frame without axes, grey levels 0..255."""
    ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def show_rows(videos: Sequence, labels: Sequence[str] | None = None, *, every: int = 1,
              max_frames: int = 16, title: str | None = None, scale: float = 0.9):
    """Show several videos as rows of frames (frame ``t`` in column ``t``).

    Args:
        videos: a sequence of videos (see :func:`as_frames`).
        labels: a label per row, drawn on the left.
        every: show every ``every``-th frame.
        max_frames: at most this many columns.
        title: figure title.
        scale: inches per frame.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    vids = [as_frames(v)[::every][:max_frames] for v in videos]
    cols = max(len(v) for v in vids)
    fig, axes = plt.subplots(len(vids), cols, figsize=(cols * scale, len(vids) * scale + (0.4 if title else 0)),
                             squeeze=False, gridspec_kw=dict(wspace=0.04, hspace=0.08))
    for r, v in enumerate(vids):
        for c in range(cols):
            ax = axes[r, c]
            if c < len(v):
                _imshow(ax, v[c])
            else:
                ax.axis("off")
            if r == 0:
                ax.set_title(f"t={c * every}", fontsize=7)
        if labels is not None:
            axes[r, 0].set_ylabel(labels[r], rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def show_strip(video, *, every: int = 1, max_frames: int = 16, title: str | None = None):
    """Show one video as a strip of frames. See :func:`show_rows`."""
    return show_rows([video], every=every, max_frames=max_frames, title=title)


def animate(videos: Sequence, titles: Sequence[str] | None = None, *, fps: int = 8, cols: int | None = None,
            scale: float = 1.3, max_frames: int = 64, dpi: int = 72):
    """A playable animation of videos side by side, for notebooks and the built website.

    Args:
        videos: videos of equal length (see :func:`as_frames`); shorter ones hold their last frame.
        titles: a title per video.
        fps: frames per second.
        cols: videos per row (default: all in one row, up to 5).
        scale: inches per video panel.
        max_frames: play at most this many frames.
        dpi: resolution of the embedded frames (keeps pages light).

    Returns:
        ``IPython.display.HTML`` holding a JavaScript player (``to_jshtml``).
    """
    import matplotlib.pyplot as plt
    from matplotlib import animation
    from IPython.display import HTML

    vids = [as_frames(v)[:max_frames] for v in videos]
    n, T = len(vids), max(len(v) for v in vids)
    cols = cols or min(n, 5)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * scale, rows * scale * 1.12), squeeze=False, dpi=dpi)
    ims = []
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        _imshow(ax, vids[i][0])
        ims.append(ax.images[0])
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout(pad=0.3)

    def update(t):
        for im, v in zip(ims, vids):
            im.set_data(v[min(t, len(v) - 1)])
        return ims

    anim = animation.FuncAnimation(fig, update, frames=T, interval=1000 / fps, blit=True)
    html = HTML(anim.to_jshtml(default_mode="loop"))
    plt.close(fig)
    return html


class Table:
    """A small table that shows as Markdown and as HTML (notebooks, the website, ``glue``)."""

    def __init__(self, columns: Sequence[str], cells: Sequence[Sequence[str]]):
        self.columns = list(columns)  # column headers
        self.cells = [list(r) for r in cells]  # formatted cell text, one list per row

    def _repr_markdown_(self) -> str:
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in self.cells])

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in self.cells)
        return f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        return self._repr_markdown_()


def table(rows: Sequence[dict], digits: int = 2) -> Table:
    """Render a list of dicts (one per row, same keys) as a table for notebooks.

    Args:
        rows: the rows; keys of the first row are the columns.
        digits: decimals for floats.

    Returns:
        A :class:`Table`: Markdown in Jupyter, HTML in the built website (and for ``glue``).
    """
    cols = list(rows[0])

    def fmt(v):
        if isinstance(v, float):
            return f"{v:,.{digits}f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    return Table(cols, [[fmt(r[c]) for c in cols] for r in rows])


def show_curves(results: dict, *, title: str = "training loss", logy: bool = True):
    """Plot the loss histories of several training runs.

    Args:
        results: name -> :class:`~gruae.training.TrainResult` (or anything with ``steps`` and
            ``losses``).
        title: axes title.
        logy: logarithmic loss axis.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    for name, r in results.items():
        ax.plot(r.steps, r.losses, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE on [-1, 1]")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def show_snapshots(snapshots: dict, size: int, *, clips: int | None = None, width: float = 12.0):
    """Show the snapshot grids of a training run, one row of panels per step.

    Args:
        snapshots: step -> uint8 grid, as in :attr:`gruae.training.TrainResult.snapshots` (per
            clip: the input frames in a row, the reconstruction below; a 1-pixel line between clips).
        size: the frame height H in pixels (the model's ``size``).
        clips: show only the first ``clips`` clips of each grid (default: all).
        width: figure width in inches.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    steps = sorted(snapshots)
    grids = [snapshots[s] if clips is None else snapshots[s][: clips * (2 * size + 1) - 1] for s in steps]
    heights = [width * g.shape[0] / g.shape[1] + 0.3 for g in grids]  # inches, with room for a title
    fig, axes = plt.subplots(len(grids), 1, figsize=(width, sum(heights)), squeeze=False,
                             gridspec_kw=dict(height_ratios=heights))
    for ax, step, grid in zip(axes[:, 0], steps, grids):
        ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(f"step {step}: input above, reconstruction below", fontsize=9, loc="left")
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_frame(videos: Sequence, titles: Sequence[str] | None = None, t: int = 0, *, scale: float = 1.4):
    """Show frame ``t`` of several videos side by side (e.g. for a slider).

    Args:
        videos: videos of any layout :func:`as_frames` reads; a shorter one shows its last frame.
        titles: a title per video.
        t: the frame to show.
        scale: inches per panel.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(videos), figsize=(scale * len(videos), scale * 1.3), squeeze=False)
    for i, (ax, v) in enumerate(zip(axes[0], videos)):
        v = as_frames(v)
        _imshow(ax, v[min(t, len(v) - 1)])
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    fig.tight_layout(pad=0.2)
    return fig


def anomaly_colors(names: Sequence[str]) -> dict[str, tuple]:
    """A colour per anomaly type, ``names[0]`` being normal (no colour): the book's palette."""
    import matplotlib.pyplot as plt

    colors = plt.cm.tab10.colors
    return {n: colors[(3 + i) % len(colors)] for i, n in enumerate(names[1:])}


def shade_intervals(ax, types, names: Sequence[str], colors: dict | None = None, *, alpha: float = 0.25) -> list:
    """Shade the runs of anomalous frames of one video on a time axis, coloured by type.

    Args:
        ax: matplotlib axes whose x axis is the frame index of the video.
        types: per-frame type index ``(T,)`` into ``names`` (0 = normal: not shaded).
        names: the type names, ``names[0]`` being normal.
        colors: type name -> colour (default :func:`anomaly_colors`).
        alpha: opacity of the shading.

    Returns:
        Legend handles, one per anomaly type (name as label), for ``ax.legend``.
    """
    import matplotlib.pyplot as plt

    colors = anomaly_colors(names) if colors is None else colors
    types = np.asarray(types.cpu() if isinstance(types, torch.Tensor) else types).astype(int)
    change = np.flatnonzero(np.diff(types)) + 1  # frames where the type changes
    for a, b in zip(np.r_[0, change], np.r_[change, len(types)]):  # runs [a, b) of one type
        if types[a]:
            ax.axvspan(a - 0.5, b - 0.5, color=colors[names[types[a]]], alpha=alpha, lw=0)
    return [plt.Rectangle((0, 0), 1, 1, color=colors[n], alpha=alpha + 0.05, label=n) for n in names[1:]]


def show_threshold(scores, labels, threshold: float, span: slice, *, types=None,
                   names: Sequence[str] | None = None, title: str | None = None):
    """One video's frame scores against a threshold, with what the threshold does on all frames.

    Args:
        scores: per-frame scores ``(F,)`` of all test videos.
        labels: per-frame 0/1 labels ``(F,)``.
        threshold: frames scoring above it are flagged.
        span: the frames of the video to draw (``frames.span(i)``).
        types: per-frame anomaly type index ``(F,)`` (optional): shades the video's anomalies.
        names: the type names, ``names[0]`` being normal (with ``types``).
        title: first part of the title; the detection rate, false alarm rate and precision over
            all frames (:func:`gruae.anomaly.threshold_rates`) follow it.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from .anomaly import threshold_rates

    r = threshold_rates(scores, labels, threshold)
    fig, ax = plt.subplots(figsize=(10, 2.6))
    if types is not None:
        shade_intervals(ax, np.asarray(types)[span], names)
    ax.plot(np.asarray(scores)[span], color="k", lw=1)
    ax.axhline(threshold, color="r", lw=1)
    ax.set_title(f"{title + ': ' if title else ''}detects {r.detection:.0%}, false alarms {r.false_alarm:.0%}, "
                 f"precision {r.precision:.0%}", fontsize=9)
    ax.set_xlabel("frame")
    ax.set_ylabel("score")
    fig.tight_layout()
    return fig


def _slider(draw, name: str, slider_args: tuple, value, **kw) -> None:
    """Call ``draw(value)`` under an ipywidgets slider, or once (``value``) without ipywidgets.

    ``slider_args`` is ``("int" | "float", min, max, step)``; ``kw`` go to the slider widget.
    With ``$GRUAE_SLIDERS=off`` (the book's builds: a slider on a static page cannot redraw, and
    executing one has been seen to stall nbclient) the figure is drawn once, at ``value``.
    """
    import matplotlib.pyplot as plt

    def show(v):
        draw(v)
        plt.show()

    if os.environ.get("GRUAE_SLIDERS", "on") == "off":
        show(value)
        return
    try:
        import ipywidgets as widgets
    except ImportError:  # a plain Jupyter without widgets: the figure at the default position
        print(f"(pip install ipywidgets for a slider; showing {name} = {value})")
        show(value)
        return
    kind, lo, hi, step = slider_args
    cls = widgets.IntSlider if kind == "int" else widgets.FloatSlider
    widgets.interact(show, v=cls(value=value, min=lo, max=hi, step=step, description=name, **kw))


def frame_slider(videos: Sequence, titles: Sequence[str] | None = None, *, scale: float = 1.4) -> None:
    """A slider that scrubs through videos side by side, frame by frame (:func:`show_frame`).

    In a live notebook with ipywidgets; a built page (or a Jupyter without ipywidgets) shows frame 0.

    Args:
        videos: videos of any layout :func:`as_frames` reads.
        titles: a title per video.
        scale: inches per panel.
    """
    vids = [as_frames(v) for v in videos]
    _slider(lambda t: show_frame(vids, titles, t, scale=scale), "frame", ("int", 0, max(map(len, vids)) - 1, 1), 0)


def threshold_slider(scores, labels, normal_scores, span: slice, *, types=None,
                     names: Sequence[str] | None = None, quantile: float = 0.99) -> None:
    """A slider choosing the threshold as a quantile of normal scores (:func:`show_threshold`).

    In a live notebook with ipywidgets; a built page (or a Jupyter without ipywidgets) shows the
    default ``quantile``.

    Args:
        scores: per-frame scores ``(F,)`` of the test videos.
        labels: per-frame 0/1 labels ``(F,)``.
        normal_scores: scores of normal validation frames: the threshold is their quantile.
        span: the frames of the test video to draw (``frames.span(i)``).
        types: per-frame anomaly type index ``(F,)`` (optional), shading the video's anomalies.
        names: the type names, ``names[0]`` being normal.
        quantile: the slider's first position.
    """
    normal_scores = np.asarray(normal_scores)
    draw = lambda q: show_threshold(scores, labels, float(np.quantile(normal_scores, q)), span,  # noqa: E731
                                    types=types, names=names, title=f"threshold = validation quantile {q:.3f}")
    _slider(draw, "quantile", ("float", 0.5, 0.999, 0.005), quantile, readout_format=".3f")


def glue(name: str, obj) -> None:
    """Hand ``obj`` to the built website under ``name`` (``{glue:any}`` in a page), showing nothing.

    Calls ``myst_nb.glue(name, obj, display=False)`` when myst_nb (the ``book`` extra, used to
    build the website) is installed; elsewhere (Colab, a plain Jupyter) it does nothing, so
    notebooks run without it.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    _glue(name, obj, display=False)
