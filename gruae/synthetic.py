"""Procedural videos: stick-figure human actions and anomaly scenes (the book's offline data).

The book cannot download anything at build time, so its default data is drawn here, from a
seed, in a few seconds on a CPU. Two datasets share one renderer:

**Actions** (:func:`make_actions`) imitate the Weizmann human-action videos used by MoCoGAN
and by the article: one person per video, a static camera, a plain outdoor background, and one
of ten :data:`ACTIONS`. The person is an articulated figure (a disc for the head, capsules for
the torso, upper and lower arms, thighs, shins and feet) whose joint angles follow a periodic
program per action. Travelling actions are seen side-on and move across the frame; ``jack``,
``pjump``, ``wave1``, ``wave2`` (and ``side``, which gallops sideways) face the camera. Size,
position, direction, tempo, phase, limb thickness, clothing shades, background and sensor
noise are random per video.

**Scenes** (:func:`make_scenes`) imitate UCSD Ped2: one fixed camera over a walkway where a few
pedestrians walk across. Training videos are normal; in test videos, after a normal start,
anomalies enter: a ``runner``, a ``rider`` on a bicycle, a ``cart``, a ``jumper`` or a
``waver`` (:data:`ANOMALY_TYPES`), with per-frame labels and per-pixel masks.

The renderer draws signed-distance primitives (capsules, discs, rings and rounded boxes) with
anti-aliased edges, ``coverage = clip(0.5 - signed_distance, 0, 1)``, composited front to back
like a painter. It is vectorised over frames: each call takes ``(M, K, 6)`` primitive
parameters for ``M`` frames of ``K`` primitives and only touches a window around each object.
All geometry is in units of the frame size, so 32, 64 and 128 pixel videos look alike.

Every random draw comes from ``numpy.random.default_rng(seed)``: the same seed gives the same
videos, and the global random state is never touched.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import DataError

__all__ = [
    "VERSION",
    "ACTIONS", "ANOMALY_TYPES", "ActionConfig", "SceneConfig", "Scenes",
    "make_actions", "make_scenes",
]

VERSION = 2
"""Version of the renderings: raised whenever the same seed would draw different videos (2: the
action videos are filmed in a few fixed places, with larger figures, as the Weizmann crops).
Part of the datasets' ``source``, so models trained on older renderings are never reused."""

ACTIONS: tuple[str, ...] = ("bend", "jack", "jump", "pjump", "run", "side", "skip", "walk", "wave1", "wave2")
"""The ten Weizmann action classes; labels index this tuple."""

ANOMALY_TYPES: tuple[str, ...] = ("normal", "runner", "rider", "cart", "jumper", "waver")
"""Per-frame anomaly types of :class:`Scenes`; index 0 is a normal frame."""

_MIN_SIZE = 16


# ---------------------------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------------------------


@dataclass
class ActionConfig:
    """How :func:`make_actions` draws its videos. Ranges are ``(low, high)``, drawn uniformly per video."""

    size: int = 64  # frame height and width in pixels
    video_frames: int = 32  # frames per video
    noise: float = 2.0  # std of Gaussian sensor noise, in grey levels (0-255)
    height: tuple[float, float] = (0.62, 0.78)  # standing figure height (head top to soles), fraction of the frame height
    tempo: tuple[float, float] = (0.85, 1.15)  # multiplier of each action's cycle rate (and so of its travel speed)
    stride: tuple[float, float] = (0.9, 1.1)  # multiplier of the distance travelled per cycle
    amplitude: tuple[float, float] = (0.85, 1.1)  # multiplier of gesture amplitude (bend depth, arm swing...)
    thickness: tuple[float, float] = (0.85, 1.2)  # multiplier of limb and torso thickness
    contrast: tuple[float, float] = (55.0, 100.0)  # |clothes - background mean|, in grey levels
    bright: float = 0.25  # probability that the figure is brighter than the background
    background: tuple[float, float] = (95.0, 185.0)  # background mean, in grey levels
    gradient: float = 14.0  # largest top-to-bottom brightness ramp of the background, grey levels
    horizon_step: float = 9.0  # largest brightness step between sky/wall and ground at the horizon line, grey levels
    texture: float = 10.0  # amplitude of the low-frequency background texture, grey levels
    ground: tuple[float, float] = (0.9, 0.97)  # height of the feet (ground line), fraction of the frame height
    places: int = 3  # fixed camera views (backgrounds) the videos are filmed in, shared by every split
    place_seed: int = 0  # seed of those views (like SceneConfig.scene_seed): the same places in train and test


@dataclass
class SceneConfig:
    """How :func:`make_scenes` draws its videos. Ranges are ``(low, high)``, drawn uniformly."""

    size: int = 64  # frame height and width in pixels
    video_frames: int = 120  # frames per video
    noise: float = 2.0  # std of Gaussian sensor noise, in grey levels (0-255)
    lanes: tuple[int, int] = (1, 4)  # pedestrians walking at once (one per lane), inclusive range per video
    height: tuple[float, float] = (0.26, 0.40)  # figure height, fraction of the frame height, far to near side of the walkway
    walk_speed: tuple[float, float] = (0.030, 0.042)  # walking speed, figure heights per frame
    gap: tuple[float, float] = (0.0, 0.25)  # pause before the next pedestrian of a lane enters, fraction of the video
    thickness: tuple[float, float] = (1.0, 1.3)  # multiplier of limb thickness (figures are small here)
    contrast: tuple[float, float] = (55.0, 105.0)  # |clothes - walkway|, in grey levels
    anomaly_types: tuple[str, ...] = ANOMALY_TYPES[1:]  # anomalies that may enter test videos
    anomaly_start: tuple[float, float] = (0.25, 0.55)  # when the first anomaly appears, fraction of the video
    anomaly_gap: tuple[float, float] = (-0.05, 0.12)  # from one anomaly's end to the next one's start, fraction of the video
    runner_speed: tuple[float, float] = (2.5, 3.0)  # runner speed, multiple of walking speed
    rider_speed: tuple[float, float] = (3.0, 4.0)  # bicycle speed, multiple of walking speed
    cart_speed: tuple[float, float] = (1.5, 2.2)  # cart speed, multiple of walking speed
    in_place: tuple[float, float] = (0.2, 0.4)  # how long a jumper or waver keeps at it, fraction of the video
    mask_threshold: float = 0.5  # coverage above which a pixel belongs to an anomaly mask
    scene_seed: int = 0  # seed of the camera view (walkway, lawn, lamp posts), shared by all splits


@dataclass
class Scenes:
    """Anomaly-scene videos with their ground truth (see :func:`make_scenes`)."""

    videos: np.ndarray  # uint8 (N, T, H, W)
    labels: np.ndarray  # uint8 (N, T), 1 = anomalous frame
    masks: np.ndarray  # bool (N, T, H, W), anomaly pixels
    types: np.ndarray  # int8 (N, T), index into ANOMALY_TYPES (0 = normal)

    def __len__(self) -> int:
        return len(self.videos)


# ---------------------------------------------------------------------------------------------
# The rasteriser: signed-distance primitives, vectorised over frames
# ---------------------------------------------------------------------------------------------

# Primitive kinds; every primitive is 6 numbers per frame, the last one its grey level.
_CAPSULE = 0  # ax, ay, bx, by, radius, value: a segment with round ends
_DISC = 1  # cx, cy, -, -, radius, value
_RING = 2  # cx, cy, ring radius, -, half width, value (a wheel's tyre)
_BOX = 3  # cx, cy, half width, half height, corner radius, value (axis aligned, rounded)

_CHUNK = 96  # frames per rasterising batch (keeps the temporaries in cache)


def _bounds(kinds: Sequence[int], prims: np.ndarray) -> tuple[np.ndarray, ...]:
    """Union bounding box of each frame's primitives, with one pixel of anti-aliasing margin."""
    los_x, his_x, los_y, his_y = [], [], [], []
    for k, kind in enumerate(kinds):
        p = prims[:, k]  # (M, 6)
        if kind == _CAPSULE:
            r = p[:, 4]
            los_x.append(np.minimum(p[:, 0], p[:, 2]) - r)
            his_x.append(np.maximum(p[:, 0], p[:, 2]) + r)
            los_y.append(np.minimum(p[:, 1], p[:, 3]) - r)
            his_y.append(np.maximum(p[:, 1], p[:, 3]) + r)
        else:
            if kind == _DISC:
                ex = ey = p[:, 4]
            elif kind == _RING:
                ex = ey = p[:, 2] + p[:, 4]
            else:
                ex, ey = p[:, 2], p[:, 3]
            los_x.append(p[:, 0] - ex)
            his_x.append(p[:, 0] + ex)
            los_y.append(p[:, 1] - ey)
            his_y.append(p[:, 1] + ey)
    lo_x = np.min(los_x, axis=0) - 1.0
    hi_x = np.max(his_x, axis=0) + 1.0
    lo_y = np.min(los_y, axis=0) - 1.0
    hi_y = np.max(his_y, axis=0) + 1.0
    return lo_x, hi_x, lo_y, hi_y  # (M,) each


def _coverage(kind: int, p: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of one primitive over a window of pixels.

    Args:
        kind: the primitive kind (``_CAPSULE``...).
        p: (m, 6) parameters of the primitive in each frame.
        X: (m, 1, w) pixel-centre x coordinates of each frame's window.
        Y: (m, h, 1) pixel-centre y coordinates.

    Returns:
        (m, h, w) float32 coverage.
    """
    c = p[:, :, None, None]  # (m, 6, 1, 1)
    dx = X - c[:, 0]  # (m, 1, w)
    dy = Y - c[:, 1]  # (m, h, 1)
    if kind == _CAPSULE:
        sx, sy = c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]  # segment vector (m, 1, 1)
        inv = 1.0 / np.maximum(sx * sx + sy * sy, 1e-6)
        t = dx * (sx * inv) + dy * (sy * inv)  # (m, h, w) position along the segment
        np.clip(t, 0.0, 1.0, out=t)
        ex = t * sx
        np.subtract(dx, ex, out=ex)
        ex *= ex
        t *= sy
        np.subtract(dy, t, out=t)
        t *= t
        ex += t
        d = ex  # squared distance to the segment
    else:
        if kind == _BOX:
            qx = np.maximum(np.abs(dx) - (c[:, 2] - c[:, 4]), 0.0)  # (m, 1, w)
            qy = np.maximum(np.abs(dy) - (c[:, 3] - c[:, 4]), 0.0)  # (m, h, 1)
            d = qx * qx + qy * qy  # (m, h, w)
        else:
            d = dx * dx + dy * dy  # (m, h, w)
    np.sqrt(d, out=d)
    if kind == _RING:
        d -= c[:, 2]
        np.abs(d, out=d)
    # coverage = clip(radius + 0.5 - distance, 0, 1)
    np.subtract(c[:, 4] + 0.5, d, out=d)
    np.clip(d, 0.0, 1.0, out=d)
    return d


def _rasterise(
    canvas: np.ndarray,
    fidx: np.ndarray,
    kinds: Sequence[int],
    prims: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    mask_on: np.ndarray | None = None,
    threshold: float = 0.5,
) -> np.ndarray:
    """Draw one object per listed frame onto a canvas, in place.

    Each object is ``K`` primitives painted in order (later ones in front). Objects listed for
    the same frame are painted in the order listed.

    Args:
        canvas: (F, H, W) float32 grey levels, modified in place.
        fidx: (M,) index into ``canvas`` of the frame each object is drawn on.
        kinds: the ``K`` primitive kinds.
        prims: (M, K, 6) primitive parameters, in pixels (pixel centres at integer coordinates).
        mask: optional (F, H, W) bool, or-ed in place with the object's pixels
            (coverage > ``threshold``) on the frames where ``mask_on`` is true.
        mask_on: (M,) bool, which objects count for ``mask``.
        threshold: coverage above which a pixel counts for ``mask`` and for visibility.

    Returns:
        (M,) bool: whether the object covers some pixel above ``threshold`` (and, when a mask
        is given, is counted in it).
    """
    F, H, W = canvas.shape
    M = len(fidx)
    visible = np.zeros(M, bool)
    if M == 0:
        return visible
    prims = np.asarray(prims, np.float32)
    order = np.argsort(fidx, kind="stable")
    repeat = np.zeros(M, bool)
    repeat[order[1:]] = fidx[order[1:]] == fidx[order[:-1]]
    if repeat.any():  # a frame listed twice: draw the later objects in a second pass
        later = np.flatnonzero(repeat)
        first = np.flatnonzero(~repeat)
        kw = dict(mask=mask, mask_on=None if mask_on is None else mask_on[first], threshold=threshold)
        visible[first] = _rasterise(canvas, fidx[first], kinds, prims[first], **kw)
        kw["mask_on"] = None if mask_on is None else mask_on[later]
        visible[later] = _rasterise(canvas, fidx[later], kinds, prims[later], **kw)
        return visible
    lo_x, hi_x, lo_y, hi_y = _bounds(kinds, prims)
    keep = (hi_x >= 0) & (lo_x <= W - 1) & (hi_y >= 0) & (lo_y <= H - 1)  # touches the frame
    x0 = np.floor(lo_x).astype(np.int64)
    y0 = np.floor(lo_y).astype(np.int64)
    bw = np.minimum(np.ceil(hi_x).astype(np.int64) - x0 + 1, W)  # window sizes
    bh = np.minimum(np.ceil(hi_y).astype(np.int64) - y0 + 1, H)
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(bw[idx] * bh[idx], kind="stable")]  # similar windows batch together
    flat_canvas = canvas.reshape(-1)
    flat_mask = None if mask is None else mask.reshape(-1)
    for s in range(0, len(idx), _CHUNK):
        sel = idx[s:s + _CHUNK]
        m = len(sel)
        ww, hh = int(bw[sel].max()), int(bh[sel].max())
        # Shift windows that stick out back inside the frame: they still hold the visible part.
        xs = np.clip(x0[sel], 0, W - ww)[:, None, None]  # (m, 1, 1)
        ys = np.clip(y0[sel], 0, H - hh)[:, None, None]
        xi = xs + np.arange(ww)[None, None, :]  # (m, 1, ww)
        yi = ys + np.arange(hh)[None, :, None]  # (m, hh, 1)
        X, Y = xi.astype(np.float32), yi.astype(np.float32)
        p = prims[sel]  # (m, K, 6)
        C = A = None  # premultiplied grey and alpha of the object, (m, hh, ww)
        tmp = np.empty((m, hh, ww), np.float32)
        for k, kind in enumerate(kinds):
            cov = _coverage(kind, p[:, k], X, Y)  # (m, hh, ww)
            val = p[:, k, 5][:, None, None]
            if C is None:
                A = cov
                C = cov * val
                continue
            # painter's "over": C = C + cov (val - C), A = A + cov (1 - A)
            np.subtract(val, C, out=tmp)
            tmp *= cov
            C += tmp
            np.subtract(1.0, A, out=tmp)
            tmp *= cov
            A += tmp
        flat = (fidx[sel][:, None, None] * H + yi) * W + xi  # (m, hh, ww) indices into the canvas
        win = flat_canvas.take(flat)  # (m, hh, ww)
        # canvas = canvas (1 - A) + C
        np.multiply(win, A, out=tmp)
        win -= tmp
        win += C
        flat_canvas.put(flat, win)
        on = A > threshold  # (m, hh, ww)
        if flat_mask is not None:
            on &= mask_on[sel][:, None, None]
            hit = on.any(axis=(1, 2))
            if hit.any():
                flat_mask.put(flat[hit][on[hit]], True)
        visible[sel] = on.any(axis=(1, 2))
    return visible


def _primitive(kind_params: Sequence[np.ndarray]) -> np.ndarray:
    """Stack six per-frame parameter arrays into one (M, 6) primitive."""
    return np.stack(np.broadcast_arrays(*kind_params), axis=-1)


def _capsule(a: np.ndarray, b: np.ndarray, r: np.ndarray, val: np.ndarray) -> np.ndarray:
    """(M, 6) capsule from complex end points ``a``, ``b`` (x + iy), radius and grey level."""
    return _primitive((a.real, a.imag, b.real, b.imag, r, val))


def _disc(c: np.ndarray, r: np.ndarray, val: np.ndarray) -> np.ndarray:
    """(M, 6) disc from a complex centre, a radius and a grey level."""
    return _primitive((c.real, c.imag, 0.0, 0.0, r, val))


def _ring(c: np.ndarray, radius: np.ndarray, half_width: np.ndarray, val: np.ndarray) -> np.ndarray:
    """(M, 6) ring (a tyre) from a complex centre, its radius, half its width and a grey level."""
    return _primitive((c.real, c.imag, radius, 0.0, half_width, val))


def _box(c: np.ndarray, half_w: np.ndarray, half_h: np.ndarray, corner: np.ndarray, val: np.ndarray) -> np.ndarray:
    """(M, 6) axis-aligned rounded box from a complex centre, half sizes, corner radius, grey level."""
    return _primitive((c.real, c.imag, half_w, half_h, corner, val))


# ---------------------------------------------------------------------------------------------
# The figure: proportions, per-action joint programs, joints, primitives
# ---------------------------------------------------------------------------------------------

# Lengths as fractions of the standing height (head top to soles).
_L_TORSO, _L_NECK, _R_HEAD = 0.30, 0.105, 0.068  # hip->shoulder, shoulder->head centre, head radius
_L_UA, _L_LA, _L_TH, _L_SH, _L_FOOT = 0.16, 0.16, 0.245, 0.245, 0.075  # arm, forearm, thigh, shin, foot
_SHOULDER_W, _HIP_W = 0.095, 0.05  # half distance between shoulders / hips seen from the front
# Radii (fractions of the height, times a per-video thickness).
_R_TORSO_SIDE, _R_TORSO_FRONT = 0.062, 0.085
_R_UA, _R_LA, _R_TH, _R_SH, _R_FOOT = 0.032, 0.027, 0.045, 0.036, 0.024
_MIN_RADIUS = 0.5  # pixels: thinner limbs would flicker at small frame sizes

_FIGURE_KINDS = (_CAPSULE,) * 6 + (_DISC,) + (_CAPSULE,) * 5  # see _body_prims for the order
_D = np.pi / 180.0


def _walk(p, amp):
    """Side view walking: legs swing +-25 degrees, knees flex in swing, arms swing opposite."""
    out = {}
    for l, q in ((0, p + np.pi), (1, p)):
        th = 25 * amp * np.sin(q)
        knee = 5 + 55 * np.maximum(0.0, np.cos(q + 0.3)) ** 2
        out[f"th{l}"], out[f"sh{l}"] = th, th - knee
        out[f"ua{l}"] = -20 * amp * np.sin(q)
        out[f"la{l}"] = out[f"ua{l}"] + 20
    out["torso"] = 4.0
    return out


def _run(p, amp):
    """Side view running: long strides, high heel kick, bent arms pumping, forward lean, flight."""
    out = {}
    for l, q in ((0, p + np.pi), (1, p)):
        th = 8 + 30 * amp * np.sin(q)
        knee = 15 + 85 * (0.5 + 0.5 * np.cos(q + 0.6)) ** 2
        out[f"th{l}"], out[f"sh{l}"] = th, th - knee
        out[f"ua{l}"] = -35 * amp * np.sin(q)
        out[f"la{l}"] = out[f"ua{l}"] + 85
    out["torso"] = 12.0
    out["air"] = 0.04 * np.maximum(0.0, np.sin(2 * p))
    return out


def _skip(p, amp):
    """Side view skipping: a hop on each leg in turn, the other knee raised high, big arm swing."""
    lift = [np.maximum(0.0, np.sin(p + np.pi)) ** 1.5, np.maximum(0.0, np.sin(p)) ** 1.5]
    out = {}
    for l in (0, 1):
        th = -5 + 60 * amp * lift[l] - 12 * lift[1 - l]
        out[f"th{l}"], out[f"sh{l}"] = th, th - 12 - 70 * lift[l]
        out[f"ua{l}"] = 10 - 45 * amp * (lift[l] - lift[1 - l])
        out[f"la{l}"] = out[f"ua{l}"] + 35
    out["torso"] = 6.0
    out["air"] = 0.07 * (0.5 - 0.5 * np.cos(2 * p))
    return out


def _jump(p, amp):
    """Side view two-footed jumps forward: crouch with arms back, then fly with arms forward."""
    c, a = np.maximum(0.0, -np.sin(p)), np.maximum(0.0, np.sin(p))  # crouch, flight
    th = 55 * c + 30 * a
    sh = th - (100 * c + 55 * a)
    ua = -50 * c + 110 * amp * a
    out = {"torso": 8 + 40 * c, "air": 0.2 * amp * a}
    for l in (0, 1):
        out[f"th{l}"], out[f"sh{l}"] = th + 3 * l, sh + 3 * l
        out[f"ua{l}"], out[f"la{l}"] = ua - 5 * l, ua + 10 + 15 * c
    return out


def _bend(p, amp):
    """Side view bending at the waist towards the ground and back; arms hang, feet stay put."""
    b = 0.5 - 0.5 * np.cos(p)
    torso = 100 * amp * b
    out = {"torso": torso, "anchor": 1.0}
    for l in (0, 1):
        out[f"th{l}"], out[f"sh{l}"] = 10 * b + 2 * l, 4 * b + 2 * l
        out[f"ua{l}"] = 0.3 * torso + 5 - 6 * l
        out[f"la{l}"] = out[f"ua{l}"] + 8
    return out


def _jack(p, amp):
    """Front view jumping jacks: arms from the sides to over the head, legs apart and together."""
    s = 0.5 - 0.5 * np.cos(p)
    ua = 8 + 160 * amp * s
    out = {"front": 1.0, "air": 0.05 * np.abs(np.sin(p))}
    for l in (0, 1):
        out[f"ua{l}"], out[f"la{l}"] = ua, ua + 12 * s
        out[f"th{l}"] = 3 + 20 * amp * s
        out[f"sh{l}"] = out[f"th{l}"] - 3
    return out


def _pjump(p, amp):
    """Front view jumps in place: knees bend on landing, arms lift a little in the air."""
    c, a = np.maximum(0.0, -np.sin(p)), np.maximum(0.0, np.sin(p))
    out = {"front": 1.0, "air": 0.16 * amp * a, "fs": 1 - 0.2 * c}
    for l in (0, 1):
        out[f"th{l}"], out[f"sh{l}"] = 4 + 14 * c, -10 * c
        out[f"ua{l}"] = 12 + 25 * a - 6 * c
        out[f"la{l}"] = out[f"ua{l}"] + 6
    return out


def _wave_arm(p, amp):
    """Upper and lower arm angles of a hand waving above the head."""
    ua = 125 + 30 * amp * np.sin(p)
    la = 170 + 40 * amp * np.sin(p - 0.7)
    return ua, la


def _wave1(p, amp):
    """Front view, one hand waving above the head (the figure's right, mirrored at random)."""
    ua, la = _wave_arm(p, amp)
    return {"front": 1.0, "ua1": ua, "la1": la, "ua0": 6.0, "la0": 3.0}


def _wave2(p, amp):
    """Front view, both hands waving above the head, mirror images of each other."""
    ua, la = _wave_arm(p, amp)
    return {"front": 1.0, "ua0": ua, "la0": la, "ua1": ua, "la1": la}


def _side(p, amp):
    """Front view gallop sideways: the leading leg steps out, the trailing leg closes up."""
    lead, trail = 0.5 - 0.5 * np.cos(p), 0.5 - 0.5 * np.cos(p - 1.0)
    out = {"front": 1.0, "air": 0.06 * np.maximum(0.0, np.sin(p - 1.2))}
    out["th1"], out["th0"] = 3 + 24 * amp * lead, 3 + 18 * amp * trail
    out["sh1"], out["sh0"] = out["th1"] - 2, out["th0"] - 2
    for l in (0, 1):
        out[f"ua{l}"] = 18 + 14 * lead
        out[f"la{l}"] = out[f"ua{l}"] + 4
    return out


# name: (program, base cycle rate in cycles per frame, distance per cycle in figure heights,
#        travel profile: the within-cycle modulation of the displacement, in cycles)
_PROGRAMS = {
    "bend": (_bend, 1 / 34, 0.0, None),
    "jack": (_jack, 1 / 16, 0.0, None),
    "jump": (_jump, 1 / 16, 0.70, lambda p: -np.cos(p) / (2 * np.pi)),
    "pjump": (_pjump, 1 / 14, 0.0, None),
    "run": (_run, 1 / 15, 0.78, None),
    "side": (_side, 1 / 16, 0.70, lambda p: -0.6 * np.cos(p) / (2 * np.pi)),
    "skip": (_skip, 1 / 18, 0.75, None),
    "walk": (_walk, 1 / 22, 0.83, None),
    "wave1": (_wave1, 1 / 14, 0.0, None),
    "wave2": (_wave2, 1 / 14, 0.0, None),
}
_POSE_DEFAULTS = {
    "torso": 0.0, "air": 0.0, "front": 0.0, "fs": 1.0, "anchor": 0.0,
    "ua0": 6.0, "la0": 10.0, "ua1": 6.0, "la1": 10.0,
    "th0": 3.0, "sh0": 2.0, "th1": 3.0, "sh1": 2.0,
}
_ANGLES = ("torso", "ua0", "la0", "ua1", "la1", "th0", "sh0", "th1", "sh1")


def _pose(codes: np.ndarray, phase: np.ndarray, amp: np.ndarray) -> dict[str, np.ndarray]:
    """Joint angles (radians) and body offsets of each frame from its action program.

    Args:
        codes: (M,) index into ACTIONS of each frame's program.
        phase: (M,) cycle phase in radians.
        amp: (M,) gesture amplitude multiplier.

    Returns:
        dict of (M,) arrays: ``torso`` lean, ``ua``/``la`` upper/lower arm and ``th``/``sh``
        thigh/shin angles of limbs 0 (far or image-left) and 1 (near or image-right), measured
        from straight down, positive forward (side view) or outward (front view); ``air``
        (height above the ground, figure heights), ``front`` (1 = facing the camera), ``fs``
        (leg foreshortening) and ``anchor`` (1 = keep the feet still).
    """
    M = len(codes)
    out = {k: np.full(M, v, np.float64) for k, v in _POSE_DEFAULTS.items()}
    for code in np.unique(codes):
        sel = codes == code
        values = _PROGRAMS[ACTIONS[code]][0](phase[sel], amp[sel])
        for k, v in values.items():
            out[k][sel] = v
    for k in _ANGLES:
        out[k] *= _D
    return out


def _ray(angle: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Unit vector (complex x + iy, y down) at ``angle`` from straight down, towards ``sign`` x."""
    return sign * np.sin(angle) + 1j * np.cos(angle)


def _radius(hb: np.ndarray, frac: float, thick: np.ndarray) -> np.ndarray:
    """A limb radius in pixels, never below the visible minimum."""
    return np.maximum(hb * frac * thick, _MIN_RADIUS)


def _figure_joints(pose, x, gy, hb, facing, thick) -> dict[str, np.ndarray]:
    """Joint positions (complex pixels) of figures standing on the ground line.

    Args:
        pose: output of :func:`_pose`.
        x: (M,) horizontal position of the hips (before ``anchor``), pixels.
        gy: (M,) ground line (soles when standing), pixels.
        hb: (M,) standing figure height, pixels.
        facing: (M,) +1 (right) or -1 (left); front views are mirrored for -1.
        thick: (M,) thickness multiplier.

    Returns:
        dict of (M,) complex arrays: ``hip``, ``shoulder``, ``head`` and per limb ``l``:
        ``sh{l}`` shoulder, ``el{l}`` elbow, ``ha{l}`` hand, ``hp{l}`` hip, ``kn{l}`` knee,
        ``an{l}`` ankle, ``to{l}`` toe; plus ``front`` (M,) bool.
    """
    front = pose["front"] > 0.5
    g = np.asarray(facing, np.float64)
    signs = (np.where(front, -1.0, g), np.where(front, 1.0, g))  # x direction of each limb
    swap = front & (g < 0)  # mirror a front view: swap the two sides' programs
    ang = {}
    for k in ("ua", "la", "th", "sh"):
        a0, a1 = pose[f"{k}0"], pose[f"{k}1"]
        ang[f"{k}0"], ang[f"{k}1"] = np.where(swap, a1, a0), np.where(swap, a0, a1)
    up = np.where(front, 1.0, g) * np.sin(pose["torso"]) - 1j * np.cos(pose["torso"])
    lat = front.astype(np.float64)
    j = {"hip": np.zeros(len(x), np.complex128), "shoulder": hb * _L_TORSO * up,
         "head": hb * (_L_TORSO + _L_NECK) * up}
    fs = pose["fs"]
    low = np.full(len(x), -np.inf)  # lowest point of the feet below the hips
    for l, s in enumerate(signs):
        j[f"sh{l}"] = j["shoulder"] + hb * _SHOULDER_W * lat * s
        j[f"el{l}"] = j[f"sh{l}"] + hb * _L_UA * _ray(ang[f"ua{l}"], s)
        j[f"ha{l}"] = j[f"el{l}"] + hb * _L_LA * _ray(ang[f"la{l}"], s)
        j[f"hp{l}"] = (hb * _HIP_W * lat * s).astype(np.complex128)
        j[f"kn{l}"] = j[f"hp{l}"] + hb * _L_TH * fs * _ray(ang[f"th{l}"], s)
        j[f"an{l}"] = j[f"kn{l}"] + hb * _L_SH * fs * _ray(ang[f"sh{l}"], s)
        foot_angle = np.where(front, 0.5 * np.pi - 0.5, 0.5 * np.pi + 0.5 * ang[f"sh{l}"])
        foot_len = np.where(front, 0.035, _L_FOOT)
        j[f"to{l}"] = j[f"an{l}"] + hb * foot_len * _ray(foot_angle, s)
        low = np.maximum(low, j[f"an{l}"].imag + _radius(hb, _R_SH, thick))
        low = np.maximum(low, j[f"to{l}"].imag + _radius(hb, _R_FOOT, thick))
    dx = np.where(pose["anchor"] > 0.5, -0.5 * (j["an0"].real + j["an1"].real), 0.0)
    origin = x + dx + 1j * (gy - low - hb * pose["air"])  # (M,) hips
    for k in list(j):
        j[k] = j[k] + origin
    j["front"] = front
    return j


def _body_prims(j, hb, thick, cols, bgref):
    """The figure's primitives, split in the painting order around what sits between the limbs.

    Args:
        j: joints from :func:`_figure_joints` (or built like them).
        hb: (M,) standing height, pixels.
        thick: (M,) thickness multiplier.
        cols: (M, 4) grey levels of shirt, trousers, skin, forearms.
        bgref: (M,) grey level far limbs fade towards (side views only).

    Returns:
        (far, middle, near): lists of (M, 6) primitives: far arm and leg; torso and head; near
        leg and arm. Their kinds are those of ``_FIGURE_KINDS`` in this order.
    """
    shirt, pants, skin, fore = (cols[:, i] for i in range(4))
    front = j["front"]
    shade = np.where(front, 0.0, 0.25)
    r_ua, r_la = _radius(hb, _R_UA, thick), _radius(hb, _R_LA, thick)
    r_th, r_sh, r_ft = _radius(hb, _R_TH, thick), _radius(hb, _R_SH, thick), _radius(hb, _R_FOOT, thick)

    def limbs(l, fade):
        f = (lambda v: v + shade * (bgref - v)) if fade else (lambda v: v)
        arm = [_capsule(j[f"sh{l}"], j[f"el{l}"], r_ua, f(shirt)), _capsule(j[f"el{l}"], j[f"ha{l}"], r_la, f(fore))]
        leg = [_capsule(j[f"hp{l}"], j[f"kn{l}"], r_th, f(pants)), _capsule(j[f"kn{l}"], j[f"an{l}"], r_sh, f(pants)),
               _capsule(j[f"an{l}"], j[f"to{l}"], r_ft, f(pants))]
        return arm, leg

    arm0, leg0 = limbs(0, True)
    arm1, leg1 = limbs(1, False)
    r_torso = np.maximum(hb * thick * np.where(front, _R_TORSO_FRONT, _R_TORSO_SIDE), _MIN_RADIUS)
    middle = [_capsule(j["hip"], j["shoulder"], r_torso, shirt),
              _disc(j["head"], hb * _R_HEAD * (0.5 + 0.5 * thick), skin)]
    return arm0 + leg0, middle, leg1 + arm1


def _figure_prims(codes, phase, amp, x, gy, hb, facing, thick, cols, bgref) -> np.ndarray:
    """(M, 12, 6) primitives of figures doing the actions ``codes`` (see :func:`_pose`)."""
    pose = _pose(codes, phase, amp)
    j = _figure_joints(pose, x, gy, hb, facing, thick)
    far, middle, near = _body_prims(j, hb, thick, cols, bgref)
    return np.stack(far + middle + near, axis=1).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Vehicles (anomaly scenes): a rider on a bicycle, a cart
# ---------------------------------------------------------------------------------------------

_RIDER_KINDS = (_CAPSULE,) * 5 + (_RING, _RING, _CAPSULE, _CAPSULE) + (_CAPSULE,) * 6 + (_CAPSULE, _DISC) + (_CAPSULE,) * 5
_CART_KINDS = (_BOX, _BOX, _DISC, _DISC, _CAPSULE)


def _ik(root, target, l1, l2, bend):
    """Two-link inverse kinematics: the middle joint and the reachable end, bending towards ``bend``."""
    d = target - root
    dist = np.abs(d)
    u = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, np.abs(l1 - l2) + 1e-6, l1 + l2 - 1e-6)
    a = (l1 * l1 - l2 * l2 + dist * dist) / (2 * dist)
    h = np.sqrt(np.maximum(l1 * l1 - a * a, 0.0))
    perp = 1j * u
    side = np.where((perp * np.conj(bend)).real >= 0, 1.0, -1.0)
    return root + u * a + perp * h * side, root + u * dist


def _rider_prims(x, gy, hb, facing, roll, thick, cols, bike, bgref) -> np.ndarray:
    """(M, 22, 6) primitives of a person riding a bicycle (side view).

    Args:
        x, gy, hb, facing, thick, cols, bgref: as for the walking figure (x is the bicycle's centre).
        roll: (M,) distance travelled, pixels (turns the wheels and the pedals).
        bike: (M,) grey level of the frame and tyres.
    """
    g = np.asarray(facing, np.float64)
    R = hb * 0.16  # wheel radius
    rear = x - 0.30 * hb * g + 1j * (gy - R)
    front_hub = x + 0.30 * hb * g + 1j * (gy - R)
    crank = x - 0.02 * hb * g + 1j * (gy - R)
    seat = crank + hb * (-0.12 * g - 0.30j)
    head_tube = x + 0.24 * hb * g + 1j * (gy - R - 0.30 * hb)
    bar = head_tube + hb * (-0.04 * g - 0.06j)
    wheel_angle = -g * roll / R
    pedal_angle = g * roll / (2.2 * R)
    lean = 35 * _D
    up = g * np.sin(lean) - 1j * np.cos(lean)
    hip = seat - 0.03j * hb
    j = {"hip": hip, "shoulder": hip + hb * _L_TORSO * up, "head": hip + hb * (_L_TORSO + _L_NECK) * up,
         "front": np.zeros(len(x), bool)}
    for l in (0, 1):
        pedal = crank + hb * 0.075 * (g * np.cos(pedal_angle + np.pi * (1 - l)) + 1j * np.sin(pedal_angle + np.pi * (1 - l)))
        j[f"sh{l}"] = j["shoulder"]
        j[f"el{l}"], j[f"ha{l}"] = _ik(j["shoulder"], bar, hb * _L_UA, hb * _L_LA, -0.3 * g + 1j)
        j[f"hp{l}"] = hip
        j[f"kn{l}"], j[f"an{l}"] = _ik(hip, pedal, hb * _L_TH, hb * _L_SH, g + 0j)
        j[f"to{l}"] = j[f"an{l}"] + hb * _L_FOOT * g
    far, middle, near = _body_prims(j, hb, thick, cols, bgref)
    r_tube = np.maximum(hb * 0.018, _MIN_RADIUS)
    r_tyre = np.maximum(hb * 0.02, 0.45)
    r_spoke = np.maximum(hb * 0.01, 0.35)
    spoke = R * np.exp(1j * wheel_angle)
    frame = [_ring(rear, R, r_tyre, bike), _ring(front_hub, R, r_tyre, bike),
             _capsule(rear - spoke, rear + spoke, r_spoke, bike),
             _capsule(front_hub - spoke, front_hub + spoke, r_spoke, bike),
             _capsule(rear, crank, r_tube, bike), _capsule(crank, seat, r_tube, bike),
             _capsule(seat, head_tube, r_tube, bike), _capsule(crank, head_tube, r_tube, bike),
             _capsule(head_tube, front_hub, r_tube, bike), _capsule(head_tube, bar, r_tube, bike)]
    return np.stack(far + frame + middle + near, axis=1).astype(np.float32)


def _cart_prims(x, gy, hb, facing, cols) -> np.ndarray:
    """(M, 5, 6) primitives of a cart: a box with a panel, two small wheels and a handle.

    Args:
        x: (M,) centre, pixels. gy: (M,) ground line. hb: (M,) scale (a figure's height there).
        facing: (M,) direction of travel (the handle trails). cols: (M, 3) body, panel, wheels.
    """
    g = np.asarray(facing, np.float64)
    u = 1.3 * hb  # a cart body is about 1.2 figure heights long
    rw = u * 0.07  # wheel radius
    body = x + 1j * (gy - 2 * rw - 0.17 * u)
    top_back = x - 0.46 * u * g + 1j * (gy - 2 * rw - 0.32 * u)
    return np.stack([
        _box(body, 0.47 * u, 0.17 * u, 0.03 * u, cols[:, 0]),
        _box(body - 0.03j * u, 0.38 * u, 0.08 * u, 0.02 * u, cols[:, 1]),
        _disc(x - 0.30 * u * g + 1j * (gy - rw), rw, cols[:, 2]),
        _disc(x + 0.30 * u * g + 1j * (gy - rw), rw, cols[:, 2]),
        _capsule(top_back, top_back - u * (0.12 * g + 0.18j), np.maximum(hb * 0.018, _MIN_RADIUS), cols[:, 2]),
    ], axis=1).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Backgrounds, noise, argument checks
# ---------------------------------------------------------------------------------------------


def _waves(rng: np.random.Generator, n: int, size: int, amplitude: np.ndarray | float, k: int = 4) -> np.ndarray:
    """Low-frequency texture: ``k`` random plane waves of 0.5-2 cycles per frame, (n, H, W) float32.

    The amplitudes of each image add up to ``amplitude`` grey levels.
    """
    freq = rng.uniform(0.5, 2.0, (n, k)) * 2 * np.pi / size  # radians per pixel
    angle = rng.uniform(0, np.pi, (n, k))
    phase = rng.uniform(0, 2 * np.pi, (n, k))
    amp = rng.uniform(0.3, 1.0, (n, k))
    amp *= np.asarray(amplitude, np.float64).reshape(-1, 1) / amp.sum(1, keepdims=True)
    c = np.arange(size, dtype=np.float64)
    out = np.zeros((n, size, size), np.float32)
    for i in range(k):
        ax = (freq[:, i] * np.cos(angle[:, i]))[:, None] * c + phase[:, i, None]  # (n, W)
        ay = (freq[:, i] * np.sin(angle[:, i]))[:, None] * c  # (n, H)
        a = amp[:, i, None]
        # sin(ax + ay) = sin(ax) cos(ay) + cos(ax) sin(ay), separable in x and y
        out += ((a * np.cos(ay))[:, :, None] * np.sin(ax)[:, None, :]).astype(np.float32)
        out += ((a * np.sin(ay))[:, :, None] * np.cos(ax)[:, None, :]).astype(np.float32)
    return out  # (n, H, W)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function (a soft step)."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _finish(canvas: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Add sensor noise and quantise to uint8; (F, H, W) float32 -> (F, H, W) uint8."""
    if noise > 0:
        canvas += np.float32(noise) * rng.standard_normal(canvas.shape, dtype=np.float32)
    canvas += 0.5
    np.clip(canvas, 0.0, 255.0, out=canvas)
    return canvas.astype(np.uint8)


def _check(n_videos, size: int, video_frames: int, noise: float) -> int:
    """Raise DataError for arguments a user can get wrong; return ``n_videos`` as an int."""
    try:
        n = operator.index(n_videos)
    except TypeError:
        raise DataError(None, f"n_videos must be an integer, got {n_videos!r}") from None
    if n < 1:
        raise DataError(None, f"n_videos must be at least 1, got {n}")
    if not isinstance(size, (int, np.integer)) or size < _MIN_SIZE:
        raise DataError(None, f"size must be an integer of at least {_MIN_SIZE} pixels, got {size!r}")
    if not isinstance(video_frames, (int, np.integer)) or video_frames < 1:
        raise DataError(None, f"video_frames must be an integer of at least 1, got {video_frames!r}")
    if not noise >= 0:
        raise DataError(None, f"noise must be a standard deviation >= 0, got {noise!r}")
    return n


def _configure(config, default_cls, overrides):
    """The config with keyword overrides applied; unknown names raise DataError."""
    config = default_cls() if config is None else config
    names = {f.name for f in dataclasses.fields(default_cls)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise DataError(None, f"unknown {default_cls.__name__} option(s): {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(names))})")
    return dataclasses.replace(config, **overrides)


def _clothes(rng: np.random.Generator, n: int, level: np.ndarray, contrast, p_bright: float) -> np.ndarray:
    """(n, 4) grey levels of shirt, trousers, skin and forearms contrasting with ``level``."""
    c = rng.uniform(*contrast, n)
    sign = np.where(rng.random(n) < p_bright, 1.0, -1.0)
    sign = np.where(level + sign * contrast[0] > 247, -1.0, np.where(level + sign * contrast[0] < 8, 1.0, sign))
    shirt = level + sign * c
    pants = level + sign * c * rng.uniform(0.8, 1.25, n)
    skin = level + sign * c * rng.uniform(0.7, 0.9, n)
    fore = np.where(rng.random(n) < 0.5, shirt, skin)
    return np.clip(np.stack([shirt, pants, skin, fore], axis=1), 8, 247)  # (n, 4)


# ---------------------------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------------------------


def make_actions(
    n_videos: int,
    *,
    seed: int = 0,
    config: ActionConfig | None = None,
    actions: Sequence[str] | None = None,
    **overrides,
) -> tuple[np.ndarray, np.ndarray]:
    """Render videos of a stick figure doing one of the Weizmann actions.

    Classes are balanced: labels go round robin over ``actions``, then are shuffled with the
    seed. Travelling actions (walk, run, skip, jump, side) start so that the figure is near
    the frame centre halfway through the video, so it may enter or leave the frame in long
    videos.

    Args:
        n_videos: number of videos N (>= 1).
        seed: seed of ``numpy.random.default_rng``; the same seed gives the same videos.
        config: an :class:`ActionConfig` (default: ``ActionConfig()``).
        actions: the action names to draw from (default: all of :data:`ACTIONS`).
        **overrides: fields of :class:`ActionConfig` to change, e.g. ``size=32, video_frames=16``.

    Returns:
        ``(videos, labels)``: uint8 (N, T, H, W) grey frames and int64 (N,) indices into
        :data:`ACTIONS`.

    Raises:
        DataError: if ``n_videos < 1``, ``size < 16``, ``frames < 1``, an action name is
            unknown, or an override is not a field of :class:`ActionConfig`.
    """
    cfg = _configure(config, ActionConfig, overrides)
    n = _check(n_videos, cfg.size, cfg.video_frames, cfg.noise)
    names = ACTIONS if actions is None else tuple(actions)
    if isinstance(actions, str) or not names:
        raise DataError(None, f"actions must be a non-empty list of names from {', '.join(ACTIONS)}, got {actions!r}")
    bad = [a for a in names if a not in ACTIONS]
    if bad:
        raise DataError(None, f"unknown action(s) {', '.join(map(repr, bad))}; choose from {', '.join(ACTIONS)}")
    S, T = cfg.size, cfg.video_frames
    rng = np.random.default_rng(seed)

    # Per-video draws, all up front so that the videos do not depend on the batching below.
    codes = np.array([ACTIONS.index(a) for a in names], np.int64)
    labels = rng.permutation(codes[np.arange(n) % len(codes)])  # (N,) balanced, shuffled
    hb = S * rng.uniform(*cfg.height, n)  # (N,) figure height, pixels
    facing = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    tempo = rng.uniform(*cfg.tempo, n)
    stride = rng.uniform(*cfg.stride, n)
    amp = rng.uniform(*cfg.amplitude, n)
    phase0 = rng.uniform(0, 2 * np.pi, n)
    thick = rng.uniform(*cfg.thickness, n)
    gy = S * rng.uniform(*cfg.ground, n)
    rate = np.array([_PROGRAMS[ACTIONS[c]][1] for c in labels]) * tempo  # (N,) cycles per frame
    dist = np.array([_PROGRAMS[ACTIONS[c]][2] for c in labels]) * stride  # (N,) figure heights per cycle
    travels = dist > 0
    xc = S * np.where(travels, rng.uniform(0.45, 0.55, n), rng.uniform(0.42, 0.58, n))
    place = rng.integers(cfg.places, size=n)  # (N,) where each video was filmed
    places, level = _action_places(cfg)  # (P, H, W) backgrounds, (P,) their means
    level = level[place]  # (N,)
    cols = _clothes(rng, n, level, cfg.contrast, cfg.bright)  # (N, 4)

    # Per-frame motion: phase, and position along the path (centred at mid-video).
    t = np.arange(T, dtype=np.float64)
    phase = 2 * np.pi * rate[:, None] * t + phase0[:, None]  # (N, T)
    mid = 2 * np.pi * rate * (T - 1) / 2 + phase0  # (N,)
    x = np.empty((n, T))
    for code in np.unique(labels):
        sel = labels == code
        profile = _PROGRAMS[ACTIONS[code]][3]
        cyc = (phase[sel] - mid[sel, None]) / (2 * np.pi)  # (n_a, T) cycles since mid-video
        if profile is not None:
            cyc = cyc + profile(phase[sel]) - profile(mid[sel, None])
        x[sel] = xc[sel, None] + facing[sel, None] * hb[sel, None] * dist[sel, None] * cyc

    backgrounds = places[place]  # (N, H, W): a fixed camera, as in the Weizmann videos
    videos = np.empty((n, T, S, S), np.uint8)
    per = max(1, 1024 // T)  # videos per batch
    for v0 in range(0, n, per):
        v = np.arange(v0, min(n, v0 + per))
        rep = lambda a: np.repeat(a[v], T)  # (N_b,) per video -> (N_b * T,) per frame
        canvas = np.repeat(backgrounds[v], T, axis=0)  # (N_b * T, H, W)
        prims = _figure_prims(rep(labels), phase[v].ravel(), rep(amp), x[v].ravel(), rep(gy), rep(hb),
                              rep(facing), rep(thick), np.repeat(cols[v], T, axis=0), rep(level))
        _rasterise(canvas, np.arange(len(canvas)), _FIGURE_KINDS, prims)
        videos[v] = _finish(canvas, rng, cfg.noise).reshape(len(v), T, S, S)
    return videos, labels.astype(np.int64)


def _action_places(cfg: ActionConfig) -> tuple[np.ndarray, np.ndarray]:
    """The fixed views the action videos are filmed in: ``(places (P, H, W) float32, means (P,))``.

    Each is a wall or field seen by a static camera: a soft horizon line, a vertical brightness
    ramp and low-frequency texture, drawn from ``cfg.place_seed`` alone, so every split (and
    every profile at the same size) shares them, as the Weizmann videos share a few outdoor walls.
    """
    if cfg.places < 1:
        raise DataError(None, f"places must be at least 1, got {cfg.places}")
    rng = np.random.default_rng(cfg.place_seed)
    P, S = cfg.places, cfg.size
    level = rng.uniform(*cfg.background, P)  # (P,) background mean
    grad = cfg.gradient * rng.uniform(-1, 1, P)
    step = cfg.horizon_step * rng.uniform(-1, 1, P)
    horizon = rng.uniform(0.3, 0.6, P)
    y = (np.arange(S) + 0.5) / S
    ground = _sigmoid((y[None, :] - horizon[:, None]) * S / 1.2)  # (P, H)
    column = level[:, None] + grad[:, None] * (y - 0.5) + step[:, None] * (1 - 2 * ground)  # (P, H)
    return _waves(rng, P, S, cfg.texture) + column[:, :, None].astype(np.float32), level


# ---------------------------------------------------------------------------------------------
# Anomaly scenes
# ---------------------------------------------------------------------------------------------


@dataclass
class _View:
    """The fixed camera view of the scenes: background and walkway geometry (pixels)."""

    background: np.ndarray  # (H, W) float32
    walkway: float  # grey level of the walkway
    feet: tuple[float, float]  # range of ground lines (feet y) on the walkway, far to near


def _scene_view(size: int, scene_seed: int, texture: float = 10.0) -> _View:
    """Draw the fixed scene: lawn above and below a walkway, soft kerbs, lamp posts."""
    rng = np.random.default_rng(np.random.SeedSequence([int(scene_seed), 0x5CE7E]))
    S = size
    top, bottom = S * rng.uniform(0.33, 0.40), S * rng.uniform(0.95, 1.02)
    walk, lawn = rng.uniform(150, 172), rng.uniform(88, 112)
    y = np.arange(S) + 0.5
    on_walk = _sigmoid((y - top) / (0.012 * S)) - _sigmoid((y - bottom) / (0.012 * S))  # (H,)
    column = lawn + (walk - lawn) * on_walk + 6 * (y / S - 0.5)
    amp = (texture * (1 - 0.6 * on_walk))[:, None]  # calmer texture on the paving
    bg = (column[:, None] + amp * _waves(rng, 1, S, 1.0)[0]).astype(np.float32)  # (H, W)
    # Static props drawn with the same renderer: a kerb line and two lamp posts.
    posts = S * np.sort(rng.uniform(0.1, 0.9, 2))
    kinds = (_CAPSULE, _CAPSULE, _DISC, _CAPSULE, _DISC)
    one = lambda v: np.array([v])
    prims = np.stack([
        _capsule(one(-5 + 1j * top), one(S + 5 + 1j * top), one(max(0.012 * S, 0.5)), one(walk - 28)),
        _capsule(one(posts[0] + 1j * (top - 0.02 * S)), one(posts[0] + 1j * (top - 0.30 * S)), one(max(0.012 * S, 0.5)), one(55.0)),
        _disc(one(posts[0] + 1j * (top - 0.31 * S)), one(0.03 * S), one(200.0)),
        _capsule(one(posts[1] + 1j * (top - 0.02 * S)), one(posts[1] + 1j * (top - 0.30 * S)), one(max(0.012 * S, 0.5)), one(55.0)),
        _disc(one(posts[1] + 1j * (top - 0.31 * S)), one(0.03 * S), one(200.0)),
    ], axis=1)
    canvas = bg[None].copy()
    for k in range(prims.shape[1]):  # separate calls: the posts may overlap the kerb
        _rasterise(canvas, np.zeros(1, np.int64), kinds[k:k + 1], prims[:, k:k + 1])
    return _View(canvas[0], float(walk), (top + 0.17 * S, min(bottom, S) - 0.06 * S))


def _depth_height(view: _View, cfg: SceneConfig, gy: float) -> float:
    """Figure height (pixels) at ground line ``gy``: smaller further away."""
    f0, f1 = view.feet
    u = np.clip((gy - f0) / max(f1 - f0, 1e-6), 0, 1)
    return cfg.size * (cfg.height[0] + (cfg.height[1] - cfg.height[0]) * u)


# A track is one object's path through one video: a dict of scalars; _series() turns it into
# per-frame arrays. kinds: "walker", "runner", "inplace" (figures), "rider", "cart".
_OBJECT_OF = {"walker": "figure", "runner": "figure", "inplace": "figure", "rider": "rider", "cart": "cart"}
_MARGIN = {"figure": 0.45, "rider": 0.6, "cart": 0.8}  # half extent, figure heights


def _person(rng, cfg: SceneConfig, view: _View, gy: float) -> dict:
    """Random look and walking gait of a pedestrian at ground line ``gy``."""
    hb = _depth_height(view, cfg, gy)
    speed = hb * rng.uniform(*cfg.walk_speed)  # pixels per frame
    return dict(gy=gy, hb=hb, speed=speed, thick=rng.uniform(*cfg.thickness),
                cols=_clothes(rng, 1, np.array([view.walkway]), cfg.contrast, 0.2)[0],
                phase0=rng.uniform(0, 2 * np.pi), facing=1.0 if rng.random() < 0.5 else -1.0,
                amp=rng.uniform(0.9, 1.1))


def _enter_x(tr: dict, size: int) -> float:
    """Where an object entering from its side starts (just outside the frame)."""
    m = _MARGIN[_OBJECT_OF[tr["kind"]]] * tr["hb"]
    return -m if tr["facing"] > 0 else size + m


def _crossing(tr: dict, size: int) -> float:
    """Frames an object takes to cross the whole frame at its speed."""
    return (size + 2 * _MARGIN[_OBJECT_OF[tr["kind"]]] * tr["hb"]) / tr["speed"]


def _lane_tracks(rng, cfg: SceneConfig, view: _View, gy: float) -> list[dict]:
    """Pedestrians walking one after another along one lane (ground line ``gy``) of a video."""
    T, tracks = cfg.video_frames, []
    t_in = None
    while True:
        tr = dict(kind="walker", **_person(rng, cfg, view, gy + rng.uniform(-0.01, 0.01) * cfg.size))
        cross = _crossing(tr, cfg.size)
        if t_in is None:  # the first one may already be on its way at frame 0
            t_in = rng.uniform(-0.95, 0.15) * cross
        tr.update(t_in=t_in, x_in=_enter_x(tr, cfg.size))
        tracks.append(tr)
        t_in = t_in + cross + rng.uniform(*cfg.gap) * T
        if t_in >= T:
            return tracks


def _anomaly_tracks(rng, cfg: SceneConfig, view: _View, types: list[str]) -> list[dict]:
    """Anomalies of one test video, one after another from a random start; pops ``types``."""
    T, S, tracks = cfg.video_frames, cfg.size, []
    t = rng.uniform(*cfg.anomaly_start) * T
    while t < T - 2:
        name = types.pop(0)
        gy = rng.uniform(*view.feet)
        tr = dict(name=name, t_on=t, **_person(rng, cfg, view, gy))
        if name in ("runner", "rider", "cart"):
            tr["kind"] = name
            tr["ratio"] = rng.uniform(*getattr(cfg, f"{name}_speed"))  # speed / walking speed
            tr["speed"] *= tr["ratio"]
            tr["bike"] = float(np.clip(view.walkway - rng.uniform(70, 120), 10, 250))
            tr["cart"] = _clothes(rng, 1, np.array([view.walkway]), cfg.contrast, 0.3)[0, :3]
            tr["cart"][2] = 35.0
            tr.update(t_in=t, x_in=_enter_x(tr, S))
            end = t + _crossing(tr, S)
        else:  # walks in, stops, jumps or waves, walks on
            tr["kind"] = "inplace"
            tr["action"] = ACTIONS.index("pjump" if name == "jumper" else "wave2")
            tr["x_stop"] = S * rng.uniform(0.25, 0.75)
            tr["duration"] = rng.uniform(*cfg.in_place) * T
            tr["x_in"] = _enter_x(tr, S)
            tr["t_in"] = t - abs(tr["x_stop"] - tr["x_in"]) / tr["speed"]
            end = t + tr["duration"]
        tracks.append(tr)
        t = end + rng.uniform(*cfg.anomaly_gap) * T
    return tracks


def _series(tr: dict, T: int, size: int) -> dict[str, np.ndarray] | None:
    """Per-frame arrays of a track over the frames where it may be in view (None if never)."""
    t = np.arange(T, dtype=np.float64)
    g, v = tr["facing"], tr["speed"]
    kind = tr["kind"]
    walk_rate = v / (_PROGRAMS["walk"][2] * tr["hb"])  # cycles per frame without foot sliding
    codes = np.full(T, ACTIONS.index("walk"))
    phase = 2 * np.pi * walk_rate * (t - tr["t_in"]) + tr["phase0"]
    mask_on = np.zeros(T, bool)
    if kind == "inplace":
        t_on, t_off = tr["t_on"], tr["t_on"] + tr["duration"]
        x = tr["x_stop"] + g * v * (np.minimum(t, t_on) - t_on + np.maximum(t - t_off, 0))
        doing = (t >= t_on) & (t < t_off)
        codes[doing] = tr["action"]
        prog = _PROGRAMS[ACTIONS[tr["action"]]][1] * tr["amp"]
        phase = np.where(doing, 2 * np.pi * prog * (t - t_on) + 0.5, phase)
        mask_on = doing
    else:
        x = tr["x_in"] + g * v * (t - tr["t_in"])
        if kind == "runner":
            codes[:] = ACTIONS.index("run")
            stride = _PROGRAMS["run"][2] * tr["hb"] * np.sqrt(tr["ratio"])  # longer strides when faster
            phase = 2 * np.pi * v / stride * (t - tr["t_in"]) + tr["phase0"]
        mask_on[:] = kind != "walker"
    m = _MARGIN[_OBJECT_OF[kind]] * tr["hb"]  # beyond this the object is out of view
    keep = (x > -m) & (x < size + m)
    if not keep.any():
        return None
    n = int(keep.sum())
    full = lambda val: np.full(n, val, np.float64)
    out = dict(t=t[keep].astype(np.int64), x=x[keep], codes=codes[keep], phase=phase[keep], mask_on=mask_on[keep],
               gy=full(tr["gy"]), hb=full(tr["hb"]), facing=full(g), thick=full(tr["thick"]), amp=full(tr["amp"]),
               cols=np.repeat(tr["cols"][None], n, axis=0), roll=v * (t[keep] - tr["t_in"]))
    if kind == "rider":
        out["bike"] = full(tr["bike"])
    if kind == "cart":
        out["cart"] = np.repeat(tr["cart"][None], n, axis=0)
    return out


def _render_tracks(canvas, mask, layers, T, view, threshold):
    """Draw the tracks of a batch of videos, layer by layer; return per-layer visibility.

    Args:
        canvas: (N_b * T, H, W) float32, the batch's frames.
        mask: (N_b * T, H, W) bool anomaly masks, filled in place.
        layers: list of lists of (local video index, track) pairs; one object per frame per layer.
        T: frames per video.
        view: the scene view.
        threshold: mask coverage threshold.

    Returns:
        list (one per layer) of (frame indices, visible) arrays: anomaly visibility per frame.
    """
    seen = []
    for layer in layers:
        groups: dict[str, list] = {}
        for vi, tr in layer:
            s = _series(tr, T, canvas.shape[-1])
            if s is not None:
                s["f"] = vi * T + s["t"]
                groups.setdefault(_OBJECT_OF[tr["kind"]], []).append(s)
        fs, vis = [], []
        for obj, items in groups.items():
            a = {k: np.concatenate([it[k] for it in items]) for k in items[0]}
            bgref = np.full(len(a["x"]), view.walkway)
            if obj == "figure":
                kinds = _FIGURE_KINDS
                prims = _figure_prims(a["codes"], a["phase"], a["amp"], a["x"], a["gy"], a["hb"], a["facing"],
                                      a["thick"], a["cols"], bgref)
            elif obj == "rider":
                kinds = _RIDER_KINDS
                prims = _rider_prims(a["x"], a["gy"], a["hb"], a["facing"], a["roll"], a["thick"], a["cols"],
                                     a["bike"], bgref)
            else:
                kinds = _CART_KINDS
                prims = _cart_prims(a["x"], a["gy"], a["hb"], a["facing"], a["cart"])
            vis.append(_rasterise(canvas, a["f"], kinds, prims, mask=mask, mask_on=a["mask_on"], threshold=threshold))
            fs.append(a["f"])
        seen.append((np.concatenate(fs) if fs else np.zeros(0, np.int64), np.concatenate(vis) if vis else np.zeros(0, bool)))
    return seen


def make_scenes(
    n_videos: int,
    *,
    anomalous: bool,
    seed: int = 0,
    config: SceneConfig | None = None,
    **overrides,
) -> Scenes:
    """Render fixed-camera walkway videos, optionally with anomalies (in the spirit of UCSD Ped2).

    Every video shows the same camera view (drawn from ``config.scene_seed``, not from
    ``seed``, so training and test splits share it) with one to four lanes of pedestrians
    walking across, left or right, smaller when further away. With ``anomalous=True`` each
    video starts normal; from a random time on, anomalies enter one after another (sometimes
    overlapping): a runner, a bicycle rider, a cart (each crossing fast), or a pedestrian who
    walks in, then jumps or waves both arms in place for a while (only that part is
    anomalous), then walks on. Anomaly types are dealt from shuffled rounds of
    ``config.anomaly_types``, so each type appears about equally often in a test set.

    Args:
        n_videos: number of videos N (>= 1).
        anomalous: False for training (normal) videos, True for test videos.
        seed: seed of ``numpy.random.default_rng`` for people, anomalies and noise.
        config: a :class:`SceneConfig` (default: ``SceneConfig()``).
        **overrides: fields of :class:`SceneConfig` to change, e.g. ``size=32, video_frames=48``.

    Returns:
        :class:`Scenes` with uint8 frames (N, T, H, W), uint8 frame labels (N, T) (1 when an
        anomaly covers some pixel), bool masks (N, T, H, W) (anomaly pixels with coverage above
        ``mask_threshold``) and int8 types (N, T) into :data:`ANOMALY_TYPES` (the earliest
        anomaly in view).

    Raises:
        DataError: for ``n_videos < 1``, ``size < 16``, ``frames < 1``, an unknown anomaly
            type, or an override that is not a field of :class:`SceneConfig`.
    """
    cfg = _configure(config, SceneConfig, overrides)
    n = _check(n_videos, cfg.size, cfg.video_frames, cfg.noise)
    bad = [a for a in cfg.anomaly_types if a not in ANOMALY_TYPES[1:]]
    if bad or not cfg.anomaly_types:
        raise DataError(None, f"anomaly_types must name some of {', '.join(ANOMALY_TYPES[1:])}, got {cfg.anomaly_types!r}")
    lo, hi = cfg.lanes
    if not 1 <= lo <= hi:
        raise DataError(None, f"lanes must be a range (low, high) with 1 <= low <= high, got {cfg.lanes!r}")
    S, T = cfg.size, cfg.video_frames
    view = _scene_view(S, cfg.scene_seed)
    rng = np.random.default_rng(seed)

    # Plan every video's tracks first (a few per video), then render in batches.
    deck: list[str] = []
    plans = []  # per video: list of layers, each a list of tracks
    for _ in range(n):
        n_lanes = int(rng.integers(lo, hi + 1))
        lanes = np.sort(rng.uniform(*view.feet, n_lanes))  # far lanes drawn first
        layers = [_lane_tracks(rng, cfg, view, gy) for gy in lanes]
        events = []
        if anomalous:
            while len(deck) < 16:  # deal types from shuffled rounds
                deck += [cfg.anomaly_types[i] for i in rng.permutation(len(cfg.anomaly_types))]
            events = _anomaly_tracks(rng, cfg, view, deck)
        plans.append((layers, [[e] for e in events]))

    frames = np.empty((n, T, S, S), np.uint8)
    masks = np.zeros((n, T, S, S), bool)
    types = np.zeros((n, T), np.int8)
    per = max(1, 960 // T)
    for v0 in range(0, n, per):
        vids = range(v0, min(n, v0 + per))
        nb = len(vids)
        canvas = np.repeat(view.background[None], nb * T, axis=0)  # (N_b * T, H, W)
        mask = masks[v0:v0 + nb].reshape(nb * T, S, S)
        n_walk = max(len(plans[v][0]) for v in vids)
        n_event = max(len(plans[v][1]) for v in vids)
        layers = [[(i, tr) for i, v in enumerate(vids) if j < len(plans[v][0]) for tr in plans[v][0][j]]
                  for j in range(n_walk)]
        layers += [[(i, tr) for i, v in enumerate(vids) if j < len(plans[v][1]) for tr in plans[v][1][j]]
                   for j in range(n_event)]
        seen = _render_tracks(canvas, mask, layers, T, view, cfg.mask_threshold)
        kind = types[v0:v0 + nb].reshape(-1)  # (N_b * T,) view
        for j in range(n_event):  # the earliest anomaly in view names the frame
            f, vis = seen[n_walk + j]
            code = np.zeros(nb * T, np.int8)
            for i, v in enumerate(vids):
                if j < len(plans[v][1]):
                    code[i * T:(i + 1) * T] = ANOMALY_TYPES.index(plans[v][1][j][0]["name"])
            f = f[vis]
            f = f[kind[f] == 0]
            kind[f] = code[f]
        frames[v0:v0 + nb] = _finish(canvas, rng, cfg.noise).reshape(nb, T, S, S)
    labels = masks.any(axis=(2, 3)).astype(np.uint8)
    return Scenes(videos=frames, labels=labels, masks=masks, types=types)
