"""Pictures of videos: frame strips, grids and animations that play in the built book.

Every function takes uint8 or float frames in any of the layouts the package uses —
``(T, H, W)``, ``(T, C, H, W)`` or ``(T, H, W, C)``; float in ``[-1, 1]`` — and returns the
matplotlib figure (or an HTML animation), never changing matplotlib's global settings.
Animations use ``FuncAnimation.to_jshtml``: a self-contained player that works in the built
website and in Colab, with PNG frames kept small.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["as_frames", "error_frames", "show_strip", "show_rows", "animate", "Table", "table", "show_curves"]


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
