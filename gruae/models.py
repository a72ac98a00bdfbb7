"""Video autoencoders: the article's GRU-AE and the models the book compares it with.

Every model maps a clip ``x`` of shape ``(B, T, C, H, W)``, float in [-1, 1], to a
reconstruction ``x_hat`` of the same shape, in [-1, 1] (the last layer is a tanh).

=====================  =====================================================================
``kind``               model
=====================  =====================================================================
``"gruae"``            :class:`GRUAE`: frame encoder -> z_t, a GRU over z_1..z_T, frame decoder
``"single_latent"``    :class:`SingleLatentAE`: the whole clip squeezed into ONE latent vector
``"per_frame"``        :class:`PerFrameAE`: the same encoder and decoder, no temporal model
``"conv3d"``           :class:`Conv3dAE`: a spatio-temporal 3D-convolution autoencoder
``"gru_predict"``      :class:`GRUPredictor`: the GRU-AE decoding frame t from h_{t-k}: a predictor
``"convgru_predict"``  :class:`ConvGRUPredictor`: a predictor whose GRU keeps a feature *map*
=====================  =====================================================================

The three frame-based models share :class:`FrameEncoder` and :class:`FrameDecoder` and
the same three steps, so a notebook can trace shapes and plot latents::

    z = model.encode(x)        # (B, T, C, H, W) -> (B, T, latent)
    h = model.temporal(z)      # (B, T, latent)  -> (B, T, F)   F = hidden, or latent for per_frame
    x_hat = model.decode(h)    # (B, T, F)       -> (B, T, C, H, W)

:data:`ARTICLE` is the article's exact model (checked against the author's public code,
satolab12/GRU-Autoencoder, ``network.py``): convolutions without bias (BatchNorm follows
them), no BatchNorm after the encoder's last convolution, 3x3 transposed convolutions with
``output_padding=1``, a decoder that ends at 32 channels, a bias-free 3x3 convolution to
one channel, tanh. The author's module also defines a ``Linear(100, 64) + ReLU`` that its
forward pass never uses (6,464 parameters); it is left out here, so ``ARTICLE`` has
4,537,480 trainable parameters where the original module reports 4,543,944.

Importing this module changes no global state. The models draw random numbers only
when ``init_state="random"`` (from torch's global generator, at every forward pass).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from dataclasses import replace as _replace

import torch
from torch import nn

from .errors import DataError

__all__ = [
    "MODEL_KINDS",
    "INIT_STATES",
    "ModelConfig",
    "ARTICLE",
    "FrameEncoder",
    "FrameDecoder",
    "FrameSequenceAE",
    "GRUAE",
    "PerFrameAE",
    "SingleLatentAE",
    "Conv3dAE",
    "GRUPredictor",
    "ConvGRUCell",
    "ConvGRUPredictor",
    "MODEL_NAMES",
    "build_model",
    "clip_frames_of",
    "count_parameters",
    "expected_parameters",
    "model_channels_last",
    "clip_channels_last",
    "fold_batch_norm",
]

MODEL_KINDS = ("gruae", "single_latent", "per_frame", "conv3d", "gru_predict", "convgru_predict")
"""The model kinds :func:`build_model` knows."""

PREDICTOR_KINDS = ("gru_predict", "convgru_predict")
"""The kinds that predict each frame from earlier ones (``horizon`` frames back)."""

MODEL_NAMES = {"gruae": "GRU-AE", "per_frame": "per-frame AE", "conv3d": "3D-conv AE",
               "single_latent": "single latent", "gru_predict": "GRU predictor",
               "convgru_predict": "ConvGRU predictor"}
"""The name each kind goes by in the book's tables and figures."""

INIT_STATES = ("zero", "random")
"""The GRU initial states :class:`GRUAE` knows."""


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a model; ``build_model(cfg)`` turns it into a module.

    Frozen: profiles and every model built from a config share it safely; derive a variant
    with :meth:`replace`. Invalid values raise :class:`~gruae.errors.DataError` (a
    ``ValueError``) at creation. ``dataclasses.asdict(cfg)`` and ``ModelConfig(**d)``
    round-trip (lists become tuples), so a checkpoint can store the config as a plain dict.

    ``clip_frames`` is *the* clip length T of the project: training samples clips of this
    length and scoring cuts videos into windows of it (both read it from the model).
    """

    kind: str = "gruae"  # one of MODEL_KINDS
    size: int = 64  # frame height = width in pixels: a power of two >= 16 (64 default, 128 supported)
    channels: int = 1  # input channels: 1 grayscale, 3 colour
    widths: tuple[int, ...] = (32, 64, 128, 256, 512)  # conv widths: first conv stride 1, each later one stride 2
    latent: int = 64  # per-frame latent size d (the length of z_t; convgru_predict: the channels of its map)
    hidden: int = 100  # GRU hidden size (convgru_predict: channels); also the per-frame code size the single_latent decoder reads
    clip_latent: int | None = None  # single_latent only: size of the one clip latent (None -> latent; clip_frames*latent = same total size as gruae)
    clip_frames: int = 16  # clip length T, for training and scoring (fixed for single_latent; conv3d needs a multiple of its temporal stride)
    init_state: str = "zero"  # GRU initial state: "zero", or "random" (the article's: standard normal, fresh at every training forward pass; zero in eval mode)
    last_encoder_bn: bool = True  # BatchNorm after the encoder's last conv (the article's code has none there)
    horizon: int | None = None  # predictors only: output t is decoded from h_{t-horizon}, the GRU state `horizon` frames back (None -> clip_frames // 2; 1 = next-frame prediction)

    def __post_init__(self) -> None:
        """Normalise ``widths`` to a tuple of ints and reject invalid values."""
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        set_("widths", tuple(int(w) for w in self.widths))
        where = "ModelConfig"
        if self.kind not in MODEL_KINDS:
            raise DataError(where, f"unknown model kind {self.kind!r}; known kinds: {', '.join(MODEL_KINDS)}")
        if self.size < 16 or self.size & (self.size - 1):
            raise DataError(where, f"size must be a power of two >= 16, got {self.size}")
        if not self.widths or min(self.widths) < 1:
            raise DataError(where, f"widths must be one or more positive ints, got {self.widths}")
        if self.size < 2 ** (len(self.widths) - 1):
            raise DataError(where, f"size {self.size} is too small for {len(self.widths)} widths "
                                   f"({len(self.widths) - 1} stride-2 convs)")
        for name in ("channels", "latent", "hidden", "clip_frames"):
            if getattr(self, name) < 1:
                raise DataError(where, f"{name} must be >= 1, got {getattr(self, name)}")
        if self.clip_latent is not None and self.clip_latent < 1:
            raise DataError(where, f"clip_latent must be None or >= 1, got {self.clip_latent}")
        if self.kind != "single_latent" or self.clip_latent == self.latent:
            set_("clip_latent", None)  # no effect on the model: one spelling, so equal models share checkpoints
        if self.kind not in PREDICTOR_KINDS:
            set_("horizon", None)  # no effect on the model: one spelling, so equal models share checkpoints
        else:
            set_("horizon", max(1, self.clip_frames // 2) if self.horizon is None else int(self.horizon))
            if not 1 <= self.horizon < self.clip_frames:
                raise DataError(where, f"horizon must be between 1 and clip_frames - 1 = {self.clip_frames - 1}, "
                                       f"got {self.horizon}")
        if self.init_state not in INIT_STATES:
            raise DataError(where, f"unknown init_state {self.init_state!r}; known: {', '.join(INIT_STATES)}")

    @property
    def bottom(self) -> int:
        """Spatial size s of the frame encoder's last feature map: ``size / 2**(len(widths)-1)``."""
        return self.size // 2 ** (len(self.widths) - 1)

    @property
    def clip_size(self) -> int:
        """The single_latent model's clip latent size (``clip_latent``, or ``latent`` if None)."""
        return self.latent if self.clip_latent is None else self.clip_latent

    def replace(self, **changes) -> ModelConfig:
        """Return a copy with some fields changed, e.g. ``ARTICLE.replace(kind="per_frame")``."""
        return _replace(self, **changes)


ARTICLE = ModelConfig(
    kind="gruae",
    size=64,  # 64x64 frames
    channels=1,  # grayscale
    widths=(32, 64, 128, 256, 512),  # 1 -> 32 (stride 1) -> 64 -> 128 -> 256 -> 512 (stride 2): 512x4x4
    latent=64,  # Linear 512*4*4 -> z = 64
    hidden=100,  # GRU(64 -> 100), then Linear 100 -> 512*4*4
    clip_frames=16,  # T = 16
    init_state="random",  # h_0 ~ N(0, 1), fresh at every training forward pass
    last_encoder_bn=False,  # the author's code has no BatchNorm after the 512-channel conv
)
"""The article's exact model (4,537,480 trainable parameters)."""


# --------------------------------------------------------------------------- clip checks


def _check_clip(x: torch.Tensor, cfg: ModelConfig, name: str) -> tuple[int, int]:
    """Check that ``x`` is a (B, T, C, H, W) clip matching ``cfg``; return (B, T)."""
    if x.dim() != 5:
        raise DataError(name, f"expected a clip of shape (B, T, C, H, W), got shape {tuple(x.shape)}")
    B, T, C, H, W = x.shape
    want = (cfg.channels, cfg.size, cfg.size)
    if (C, H, W) != want:
        raise DataError(name, f"expected frames of shape (C, H, W) = {want}, got {(C, H, W)}")
    return B, T


# --------------------------------------------------------------------------- frame encoder / decoder


def _encoder_convs(cfg: ModelConfig) -> nn.Sequential:
    """The frame encoder's convolutions: (N, C, H, W) -> (N, widths[-1], s, s) (see :class:`FrameEncoder`)."""
    layers: list[nn.Module] = []
    c_in = cfg.channels
    for i, w in enumerate(cfg.widths):
        stride = 1 if i == 0 else 2  # first conv keeps the size, each later one halves it
        layers.append(nn.Conv2d(c_in, w, kernel_size=3, stride=stride, padding=1, bias=False))
        if i < len(cfg.widths) - 1 or cfg.last_encoder_bn:
            layers.append(nn.BatchNorm2d(w))
        layers.append(nn.ReLU(inplace=True))
        c_in = w
    return nn.Sequential(*layers)


def _decoder_deconvs(cfg: ModelConfig) -> nn.Sequential:
    """The frame decoder's transposed convolutions: (N, widths[-1], s, s) -> (N, widths[0], H, W)."""
    layers: list[nn.Module] = []
    for i in range(len(cfg.widths) - 1, 0, -1):
        layers += [
            nn.ConvTranspose2d(cfg.widths[i], cfg.widths[i - 1], kernel_size=3, stride=2,
                               padding=1, output_padding=1, bias=False),  # doubles H and W
            nn.BatchNorm2d(cfg.widths[i - 1]),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


class FrameEncoder(nn.Module):
    """Per-frame CNN: (N, C, H, W) -> (N, latent).

    A 3x3 conv C -> widths[0] at stride 1, then a 3x3 conv at stride 2 for each later width,
    each followed by BatchNorm2d and ReLU (the convs have no bias: BatchNorm adds one). The
    last feature map is widths[-1] x s x s with s = size / 2**(len(widths)-1) (4 for 64x64
    and five widths, 8 for 128x128); it is flattened and mapped to ``latent`` by a Linear
    (no activation). With ``cfg.last_encoder_bn=False`` the last conv is followed by ReLU
    only, as in the article's code.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.convs = _encoder_convs(cfg)
        self.fc = nn.Linear(cfg.widths[-1] * cfg.bottom**2, cfg.latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode frames (N, C, H, W) to latents (N, latent)."""
        f = self.convs(x)  # (N, C, H, W) -> (N, widths[-1], s, s), e.g. (N, 512, 4, 4)
        f = f.flatten(1)  # (N, widths[-1], s, s) -> (N, widths[-1]*s*s)
        return self.fc(f)  # (N, widths[-1]*s*s) -> (N, latent)


class FrameDecoder(nn.Module):
    """Per-frame transposed-conv decoder: (N, in_features) -> (N, C, H, W) in [-1, 1].

    A Linear in_features -> widths[-1]*s*s (no activation), reshaped to widths[-1] x s x s;
    then for each width in reverse a ConvTranspose2d (kernel 3, stride 2, padding 1,
    output_padding 1: exactly doubles the size, as in the article's code) + BatchNorm2d +
    ReLU, ending at widths[0] channels and full size; a final bias-free 3x3 conv
    widths[0] -> C and tanh.
    """

    def __init__(self, cfg: ModelConfig, in_features: int):
        super().__init__()
        self.width, self.bottom = cfg.widths[-1], cfg.bottom
        self.fc = nn.Linear(in_features, self.width * self.bottom**2)
        self.deconvs = _decoder_deconvs(cfg)
        self.head = nn.Conv2d(cfg.widths[0], cfg.channels, kernel_size=3, padding=1, bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Decode codes (N, in_features) to frames (N, C, H, W) in [-1, 1]."""
        f = self.fc(h)  # (N, in_features) -> (N, widths[-1]*s*s)
        f = f.reshape(-1, self.width, self.bottom, self.bottom)  # -> (N, widths[-1], s, s), e.g. (N, 512, 4, 4)
        f = self.deconvs(f)  # (N, widths[-1], s, s) -> (N, widths[0], H, W)
        return torch.tanh(self.head(f))  # (N, widths[0], H, W) -> (N, C, H, W)


# --------------------------------------------------------------------------- frame-based models


class FrameSequenceAE(nn.Module):
    """Base of the frame-based models: encode each frame, model the sequence, decode each frame.

    Subclasses define :meth:`temporal`. ``forward(x) = decode(temporal(encode(x)))``.

    Args:
        cfg: the model config (kept as ``self.cfg``).
        code_features: the size F of the per-frame codes :meth:`temporal` returns.
    """

    fixed_frames: int | None = None  # clip length the model requires, or None for any
    context: int = 0  # leading outputs of a clip that lack past frames and are not scored (predictors)

    def __init__(self, cfg: ModelConfig, code_features: int):
        super().__init__()
        self.cfg = cfg
        self.encoder = FrameEncoder(cfg)
        self.decoder = FrameDecoder(cfg, code_features)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encode every frame of a clip: (B, T, C, H, W) -> z (B, T, latent)."""
        B, T = _check_clip(x, self.cfg, type(self).__name__)
        if self.fixed_frames is not None and T != self.fixed_frames:
            raise DataError(type(self).__name__, f"expected clips of cfg.clip_frames = {self.fixed_frames} "
                                                 f"frames, got {T} (shape {tuple(x.shape)})")
        frames = x.reshape(B * T, *x.shape[2:])  # (B, T, C, H, W) -> (B*T, C, H, W); reshape: x may be non-contiguous
        z = self.encoder(frames)  # (B*T, C, H, W) -> (B*T, latent)
        return z.reshape(B, T, -1)  # (B*T, latent) -> (B, T, latent)

    def temporal(self, z: torch.Tensor) -> torch.Tensor:
        """Map the latent sequence (B, T, latent) to per-frame codes (B, T, F)."""
        raise NotImplementedError

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Decode per-frame codes: (B, T, F) -> x_hat (B, T, C, H, W) in [-1, 1]."""
        B, T, F = h.shape
        frames = self.decoder(h.reshape(B * T, F))  # (B, T, F) -> (B*T, F) -> (B*T, C, H, W)
        return frames.reshape(B, T, *frames.shape[1:])  # (B*T, C, H, W) -> (B, T, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct a clip: (B, T, C, H, W) -> (B, T, C, H, W) in [-1, 1]."""
        z = self.encode(x)  # (B, T, C, H, W) -> (B, T, latent)
        h = self.temporal(z)  # (B, T, latent) -> (B, T, F)
        return self.decode(h)  # (B, T, F) -> (B, T, C, H, W)


class GRUAE(FrameSequenceAE):
    """The article's GRU autoencoder: encoder per frame -> z_t, GRU over z_1..z_T, decoder per frame.

    The GRU (``nn.GRU(latent, hidden, batch_first=True)``) starts from ``h_0 = 0`` when
    ``cfg.init_state="zero"``. With ``cfg.init_state="random"`` (the article's choice) it starts
    from a fresh standard-normal draw at every forward pass **in training mode** (a noise that
    regularises the GRU), and from ``h_0 = 0`` in eval mode, so that reconstructions and anomaly
    scores are the same from one evaluation to the next (the article's code drew it in eval
    mode too, which made every score random). The GRU always runs in the
    weights' dtype (float32) with autocast disabled: it is tiny, and recurrences are where
    bfloat16 rounding would accumulate.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, code_features=cfg.hidden)
        self.gru = nn.GRU(cfg.latent, cfg.hidden, batch_first=True)

    def initial_state(self, batch: int, device: torch.device | str) -> torch.Tensor:
        """The GRU's h_0, shape (1, batch, hidden): zeros, or standard normal while training when
        ``init_state="random"``."""
        shape = (1, batch, self.cfg.hidden)
        dtype = self.gru.weight_ih_l0.dtype
        if self.cfg.init_state == "random" and self.training:
            return torch.randn(shape, device=device, dtype=dtype)
        return torch.zeros(shape, device=device, dtype=dtype)

    def temporal(self, z: torch.Tensor) -> torch.Tensor:
        """Run the GRU over the latent sequence: z (B, T, latent) -> h (B, T, hidden)."""
        h0 = self.initial_state(z.shape[0], z.device)  # (1, B, hidden)
        with torch.autocast(device_type=z.device.type, enabled=False):
            h, _ = self.gru(z.to(h0.dtype), h0)  # (B, T, latent) -> (B, T, hidden)
        return h


class GRUPredictor(GRUAE):
    """The GRU-AE turned into a predictor (Srivastava et al. 2015; Liu et al. 2018).

    The same encoder, GRU and decoder as :class:`GRUAE`, with one change: output t is decoded
    from the GRU state ``k = cfg.horizon`` frames back, ``h_{t-k}`` (and ``h_0`` for t < k), so
    the model never sees the frame it must produce, nor the k - 1 frames before it, and has to
    predict it from the past. Motion that the training videos never showed (someone running
    among walkers, someone jumping on the spot) then costs error even when every single frame
    looks normal. ``horizon = 1`` is next-frame prediction, close to copying since consecutive
    frames differ little; the default, ``clip_frames // 2``, predicts half a clip ahead (with T = 16 on
    the synthetic scenes, k = 8 scored best of 1, 4 and 8; ``benchmarks/anomaly.py --horizon K``
    measures any).
    Trained with the same loss as every model here: ``MSE(model(x), x)``.

    The first outputs of a clip have little or no past: scoring ignores the first
    :attr:`context` = max(horizon, clip_frames // 2) outputs of each window except at a video's
    start (see :func:`gruae.scoring.reconstruct`).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.context = max(cfg.horizon, cfg.clip_frames // 2)  # outputs with less past than this are not scored

    @property
    def horizon(self) -> int:
        """k: output t reads h_{t-k} (``cfg.horizon``)."""
        return self.cfg.horizon

    def temporal(self, z: torch.Tensor) -> torch.Tensor:
        """GRU states shifted by ``horizon``: z (B, T, latent) -> (h_0, .., h_0, h[0], .., h[T-1-k]) (B, T, hidden)."""
        k = self.horizon
        if z.shape[1] <= k:
            raise DataError(type(self).__name__, f"clips of T={z.shape[1]} frames are too short for horizon {k}: "
                                                 f"need T > horizon")
        h = super().temporal(z)  # (B, T, hidden): h[:, t] has seen frames 0..t
        h0 = self.initial_state(z.shape[0], z.device).transpose(0, 1).to(h.dtype)  # (B, 1, hidden)
        return torch.cat([h0.expand(-1, k, -1), h[:, :-k]], dim=1)  # output t reads frames 0..t-k only


class PerFrameAE(FrameSequenceAE):
    """The ablation: GRU-AE's encoder and decoder with no temporal model (z_t decoded directly).

    Each frame is reconstructed on its own, so the model cannot use motion; ``temporal`` is the
    identity and the decoder reads z_t (``latent`` features) instead of the GRU's output.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, code_features=cfg.latent)

    def temporal(self, z: torch.Tensor) -> torch.Tensor:
        """Identity: z (B, T, latent) -> z (B, T, latent)."""
        return z


class SingleLatentAE(FrameSequenceAE):
    """The failure case the article describes: the whole clip squeezed into ONE latent vector.

    The per-frame latents z_1..z_T (after the encoder's Linear: the same encoder as GRU-AE) are
    concatenated, mapped by a Linear to one clip latent c of size ``cfg.clip_size``, and
    expanded by a Linear to T per-frame codes of size ``hidden`` (through tanh, the range of the
    GRU's outputs), which the same decoder as GRU-AE reads. So the encoder and decoder are
    identical to GRU-AE's and only the temporal block differs: GRU versus this bottleneck.
    (Concatenating the flattened conv features instead would need a T*widths[-1]*s*s -> clip
    Linear: 8.4 M weights per clip latent unit at the article's size, dwarfing everything else.)

    With ``clip_latent = latent`` (e.g. 64) c is as big as one z_t, T times less than GRU-AE's
    whole latent sequence; with ``clip_latent = clip_frames * latent`` the totals are equal.
    The clip length is fixed to ``cfg.clip_frames``; another length raises ``ValueError``.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, code_features=cfg.hidden)
        self.fixed_frames = cfg.clip_frames
        self.to_clip = nn.Linear(cfg.clip_frames * cfg.latent, cfg.clip_size)
        self.from_clip = nn.Linear(cfg.clip_size, cfg.clip_frames * cfg.hidden)

    def clip_code(self, z: torch.Tensor) -> torch.Tensor:
        """Squeeze the latent sequence into one vector: z (B, T, latent) -> c (B, clip_latent)."""
        B, T, d = z.shape
        if T != self.cfg.clip_frames:
            raise DataError(type(self).__name__, f"expected {self.cfg.clip_frames} frames (cfg.clip_frames), got {T}")
        return self.to_clip(z.reshape(B, T * d))  # (B, T, latent) -> (B, T*latent) -> (B, clip_latent)

    def expand(self, c: torch.Tensor) -> torch.Tensor:
        """Expand the clip latent to per-frame codes: c (B, clip_latent) -> (B, T, hidden)."""
        h = torch.tanh(self.from_clip(c))  # (B, clip_latent) -> (B, T*hidden)
        return h.reshape(c.shape[0], self.cfg.clip_frames, self.cfg.hidden)  # -> (B, T, hidden)

    def temporal(self, z: torch.Tensor) -> torch.Tensor:
        """Through the single clip latent: z (B, T, latent) -> (B, T, hidden)."""
        return self.expand(self.clip_code(z))  # (B, T, latent) -> (B, clip_latent) -> (B, T, hidden)


# --------------------------------------------------------------------------- a GRU over feature maps


class ConvGRUCell(nn.Module):
    """A GRU whose weights are 3x3 convolutions, so its state is a feature map (Ballas et al. 2016;
    the ConvLSTM of Shi et al. 2015 with a GRU's gates).

    With ``[a, b]`` the concatenation along channels and ``*`` an elementwise product::

        z, r = sigmoid(conv_zr([x, h]))        update and reset gates, (N, hidden, s, s) each
        n    = tanh(conv_n([x, r * h]))        the candidate state
        h'   = (1 - z) * h + z * n

    Every location has the same small GRU, which sees its 3x3 neighbourhood: a state can hold
    *where* something is and how it moves, which a vector state of a whole frame cannot keep
    for many small objects. The state stays float32; under autocast only the convolutions run in
    the lower precision.
    """

    def __init__(self, in_channels: int, hidden: int):
        super().__init__()
        self.zr = nn.Conv2d(in_channels + hidden, 2 * hidden, kernel_size=3, padding=1)
        self.n = nn.Conv2d(in_channels + hidden, hidden, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: input map x (N, in, s, s) and state h (N, hidden, s, s) -> new state (N, hidden, s, s)."""
        z, r = torch.sigmoid(self.zr(torch.cat([x, h.to(x.dtype)], 1))).float().chunk(2, 1)  # (N, hidden, s, s) x 2
        n = torch.tanh(self.n(torch.cat([x, (r * h).to(x.dtype)], 1))).float()  # (N, hidden, s, s)
        return (1 - z) * h + z * n


class ConvGRUPredictor(nn.Module):
    """A predictor whose GRU runs over feature maps: frame t decoded from the state ``horizon`` frames back.

    :class:`GRUPredictor` squeezes each frame into one vector: enough for one figure, not for
    where each of twenty small walkers is. Here the frame encoder's convolutions stop at an
    ``s x s`` map (``s = size / 2**(len(widths) - 1)``: 16 for 64x64 frames and three widths),
    a 1x1 convolution makes it the latent map z_t (``latent`` channels), a :class:`ConvGRUCell`
    with ``hidden`` channels runs over z_1..z_T, and the frame decoder's transposed convolutions
    turn the state h_{t-k} (k = ``cfg.horizon``; zeros for t < k) into frame t. As in
    :class:`GRUPredictor`, output t never sees frames t-k+1..t, and the first :attr:`context`
    outputs of a window are not scored. Trained with the same loss as every model here:
    ``MSE(model(x), x)``.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.context = max(cfg.horizon, cfg.clip_frames // 2)  # outputs with less past than this are not scored
        self.encoder = _encoder_convs(cfg)
        self.to_latent = nn.Conv2d(cfg.widths[-1], cfg.latent, kernel_size=1)
        self.cell = ConvGRUCell(cfg.latent, cfg.hidden)
        self.from_state = nn.Sequential(nn.Conv2d(cfg.hidden, cfg.widths[-1], kernel_size=1, bias=False),
                                        nn.BatchNorm2d(cfg.widths[-1]), nn.ReLU(inplace=True))
        self.deconvs = _decoder_deconvs(cfg)
        self.head = nn.Conv2d(cfg.widths[0], cfg.channels, kernel_size=3, padding=1, bias=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent maps of every frame: (B, T, C, H, W) -> z (B, T, latent, s, s)."""
        B, T = _check_clip(x, self.cfg, type(self).__name__)
        z = self.to_latent(self.encoder(x.reshape(B * T, *x.shape[2:])))  # (B*T, C, H, W) -> (B*T, latent, s, s)
        return z.reshape(B, T, *z.shape[1:])  # -> (B, T, latent, s, s)

    def temporal(self, z: torch.Tensor) -> torch.Tensor:
        """ConvGRU states shifted by ``horizon``: z (B, T, latent, s, s) -> (0, .., 0, h[0], .., h[T-1-k])."""
        B, T = z.shape[:2]
        k = self.cfg.horizon
        if T <= k:
            raise DataError(type(self).__name__, f"clips of T={T} frames are too short for horizon {k}: "
                                                 f"need T > horizon")
        h = torch.zeros(B, self.cfg.hidden, *z.shape[3:], device=z.device)  # (B, hidden, s, s), float32
        states = []
        for t in range(T - k):  # states after frames 0..T-1-k: the later ones are never decoded
            h = self.cell(z[:, t], h)
            states.append(h)
        return torch.stack([torch.zeros_like(h)] * k + states, 1)  # (B, T, hidden, s, s)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Frames from states: (B, T, hidden, s, s) -> (B, T, C, H, W) in [-1, 1]."""
        B, T = h.shape[:2]
        f = self.from_state(h.flatten(0, 1))  # (B*T, hidden, s, s) -> (B*T, widths[-1], s, s)
        frames = torch.tanh(self.head(self.deconvs(f)))  # -> (B*T, C, H, W)
        return frames.reshape(B, T, *frames.shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict a clip: (B, T, C, H, W) -> (B, T, C, H, W) in [-1, 1], output t from frames 0..t-k."""
        return self.decode(self.temporal(self.encode(x)))


# --------------------------------------------------------------------------- 3D convolutions


def _conv3d_plan(cfg: ModelConfig) -> tuple[tuple[int, ...], tuple[int, ...], int, int, int]:
    """Layer plan of :class:`Conv3dAE`: (widths, time strides, total time stride, bottom size, code channels)."""
    widths = cfg.widths[:4]
    n = len(widths)
    t_strides = tuple(2 if 1 <= i <= 2 else 1 for i in range(n))  # halve time in layers 2 and 3
    t_total = math.prod(t_strides)
    bottom = cfg.size // 2**n  # every layer halves H and W
    code = max(1, math.ceil(cfg.latent * t_total / bottom**2))  # code holds ~ T*latent numbers, like gruae's z
    return widths, t_strides, t_total, bottom, code


class Conv3dAE(nn.Module):
    """A spatio-temporal 3D-convolution autoencoder (Zhao et al. 2017; Chong & Tay 2017 style).

    Encoder: up to four 3x3x3 Conv3d layers with widths ``cfg.widths[:4]`` (32, 64, 128, 256 for
    the article's widths), each BatchNorm3d + ReLU, stride 2 in H and W in every layer and
    stride 2 in time in the 2nd and 3rd (so T shrinks by 4: T must be a multiple of 4, e.g. 8
    or 16); then a 1x1x1 Conv3d bottleneck to ``code`` channels, chosen so the code holds about
    T*latent numbers (the size of GRU-AE's latent sequence): 16 x T/4 x 4 x 4 at 64x64.
    Decoder: a 1x1x1 Conv3d back to the last width, ConvTranspose3d layers mirroring the
    encoder (kernel 3, padding 1, output_padding = stride - 1) + BatchNorm3d + ReLU, a bias-free
    3x3x3 Conv3d to C channels and tanh. About 2.4 M parameters at the article's widths.

    ``model.to(memory_format=torch.channels_last)`` fails on 5-D weights (a PyTorch rule): use
    :func:`model_channels_last`, which gives this model ``channels_last_3d``.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        widths, t_strides, self.time_stride, self.bottom, self.code_channels = _conv3d_plan(cfg)
        enc: list[nn.Module] = []
        c_in = cfg.channels
        for w, ts in zip(widths, t_strides):
            enc += [nn.Conv3d(c_in, w, kernel_size=3, stride=(ts, 2, 2), padding=1, bias=False),
                    nn.BatchNorm3d(w), nn.ReLU(inplace=True)]
            c_in = w
        self.convs = nn.Sequential(*enc)
        self.to_code = nn.Conv3d(widths[-1], self.code_channels, kernel_size=1)
        self.from_code = nn.Conv3d(self.code_channels, widths[-1], kernel_size=1)
        dec: list[nn.Module] = []
        for i in range(len(widths) - 1, -1, -1):
            w_out = widths[max(i - 1, 0)]
            ts = t_strides[i]
            dec += [nn.ConvTranspose3d(widths[i], w_out, kernel_size=3, stride=(ts, 2, 2), padding=1,
                                       output_padding=(ts - 1, 1, 1), bias=False),
                    nn.BatchNorm3d(w_out), nn.ReLU(inplace=True)]
        self.deconvs = nn.Sequential(*dec)
        self.head = nn.Conv3d(widths[0], cfg.channels, kernel_size=3, padding=1, bias=False)

    def _check(self, x: torch.Tensor) -> None:
        """Check the clip's shape and that T is a multiple of the time stride."""
        _, T = _check_clip(x, self.cfg, "Conv3dAE")
        if T % self.time_stride:
            raise DataError("Conv3dAE", f"clip length T must be a multiple of {self.time_stride} "
                                        f"(the encoder's time stride), got T = {T}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encode a clip: (B, T, C, H, W) -> code (B, code, T/4, s, s), s = size/16 for 4 widths."""
        self._check(x)
        v = x.permute(0, 2, 1, 3, 4)  # (B, T, C, H, W) -> (B, C, T, H, W), a view
        f = self.convs(v)  # (B, C, T, H, W) -> (B, widths[3], T/4, s, s), e.g. (B, 256, 4, 4, 4)
        return self.to_code(f)  # -> (B, code, T/4, s, s), e.g. (B, 16, 4, 4, 4)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """Decode a code (B, code, T/4, s, s) to a clip (B, T, C, H, W) in [-1, 1]."""
        f = self.from_code(code)  # (B, code, T/4, s, s) -> (B, widths[3], T/4, s, s)
        f = self.deconvs(f)  # -> (B, widths[0], T, H, W)
        v = torch.tanh(self.head(f))  # (B, widths[0], T, H, W) -> (B, C, T, H, W)
        return v.permute(0, 2, 1, 3, 4)  # (B, C, T, H, W) -> (B, T, C, H, W), a view

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct a clip: (B, T, C, H, W) -> (B, T, C, H, W) in [-1, 1].

        On the CPU this model always runs in float32, even under bf16 autocast: PyTorch's
        CPU bf16 3D convolutions occasionally produced NaN losses here (seen with torch 2.13,
        not reproducible run to run), where float32 never did.
        """
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return self.decode(self.encode(x.float()))
        return self.decode(self.encode(x))  # (B, T, C, H, W) -> code -> (B, T, C, H, W)


# --------------------------------------------------------------------------- building and counting

_BUILDERS: dict[str, type[nn.Module]] = {
    "gruae": GRUAE,
    "single_latent": SingleLatentAE,
    "per_frame": PerFrameAE,
    "conv3d": Conv3dAE,
    "gru_predict": GRUPredictor,
    "convgru_predict": ConvGRUPredictor,
}


def build_model(cfg: ModelConfig) -> nn.Module:
    """Build the model ``cfg.kind`` names (one of :data:`MODEL_KINDS`), with PyTorch's default init.

    Raises:
        ValueError: (a :class:`~gruae.errors.DataError`) for an unknown kind.
    """
    if cfg.kind not in _BUILDERS:  # ModelConfig checks this too, unless kind was changed afterwards
        raise DataError("ModelConfig", f"unknown model kind {cfg.kind!r}; known kinds: {', '.join(MODEL_KINDS)}")
    return _BUILDERS[cfg.kind](cfg)


def clip_frames_of(model: nn.Module) -> int:
    """The clip length T a model works on: ``model.cfg.clip_frames``.

    A model of your own (not built by :func:`build_model`) can declare it with a ``clip_frames``
    attribute instead.

    Raises:
        DataError: the model declares no clip length.
    """
    cfg = getattr(model, "cfg", None)
    T = getattr(cfg, "clip_frames", None) if cfg is not None else getattr(model, "clip_frames", None)
    if T is None:
        raise DataError(type(model).__name__, "the model declares no clip length: give it a ModelConfig "
                                              "as `cfg`, or a `clip_frames` attribute")
    return int(T)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (those with ``requires_grad``) in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _linear(n_in: int, n_out: int) -> int:
    """Parameters of ``nn.Linear(n_in, n_out)``: weights and biases."""
    return n_in * n_out + n_out


def expected_parameters(cfg: ModelConfig) -> int:
    """The trainable parameter count of ``build_model(cfg)``, computed from the layer sizes.

    Convolutions have no bias (BatchNorm follows them) except the Conv3dAE's 1x1x1 bottleneck
    convs; every BatchNorm has a weight and a bias per channel; a Linear has in*out + out; a GRU
    has 3*(d*h + h*h + 2h). A test checks this against :func:`count_parameters`.
    """
    C, ws = cfg.channels, cfg.widths
    if cfg.kind == "conv3d":
        widths, _, _, _, code = _conv3d_plan(cfg)
        chans = (C,) + widths
        enc = sum(27 * a * b + 2 * b for a, b in zip(chans[:-1], chans[1:]))  # conv + BN
        outs = [widths[max(i - 1, 0)] for i in range(len(widths) - 1, -1, -1)]
        dec = sum(27 * widths[i] * o + 2 * o for i, o in zip(range(len(widths) - 1, -1, -1), outs))
        bottleneck = (widths[-1] * code + code) + (code * widths[-1] + widths[-1])
        return enc + bottleneck + dec + 27 * widths[0] * C
    s2 = cfg.bottom**2
    chans = (C,) + ws
    convs = sum(9 * a * b for a, b in zip(chans[:-1], chans[1:]))  # 3x3 convs, no bias
    convs += 2 * sum(ws[:-1]) + (2 * ws[-1] if cfg.last_encoder_bn else 0)  # BatchNorm
    deconvs = sum(9 * ws[i] * ws[i - 1] + 2 * ws[i - 1] for i in range(len(ws) - 1, 0, -1))  # deconv + BN
    if cfg.kind == "convgru_predict":
        d, h = cfg.latent, cfg.hidden
        cell = 9 * (d + h) * 3 * h + 3 * h  # the gates' and the candidate's 3x3 convs, with bias
        return convs + _linear(ws[-1], d) + cell + h * ws[-1] + 2 * ws[-1] + deconvs + 9 * ws[0] * C
    encoder = convs + _linear(ws[-1] * s2, cfg.latent)

    def decoder(in_features: int) -> int:
        return _linear(in_features, ws[-1] * s2) + deconvs + 9 * ws[0] * C  # head conv, no bias

    if cfg.kind in ("gruae", "gru_predict"):
        d, h = cfg.latent, cfg.hidden
        return encoder + 3 * (d * h + h * h + 2 * h) + decoder(h)
    if cfg.kind == "per_frame":
        return encoder + decoder(cfg.latent)
    if cfg.kind == "single_latent":
        T = cfg.clip_frames
        return (encoder + _linear(T * cfg.latent, cfg.clip_size) + _linear(cfg.clip_size, T * cfg.hidden)
                + decoder(cfg.hidden))
    raise DataError("ModelConfig", f"unknown model kind {cfg.kind!r}; known kinds: {', '.join(MODEL_KINDS)}")


# --------------------------------------------------------------------------- inference

_CONVS = (nn.Conv2d, nn.ConvTranspose2d, nn.Conv3d, nn.ConvTranspose3d)
_NORMS = (nn.BatchNorm2d, nn.BatchNorm3d)


def fold_batch_norm(model: nn.Module) -> nn.Module:
    """An inference copy of ``model`` whose batch norms are folded into the convolutions before them.

    In eval mode a BatchNorm after a convolution is an affine map per channel, so it can be
    merged into the convolution's weights and bias (``torch.nn.utils.fusion.fuse_conv_bn_eval``):
    the same outputs up to float rounding (about 1e-6 on the [-1, 1] scale) with one pass over
    each feature map less. Every convolution directly followed by a batch norm inside an
    ``nn.Sequential`` (the frame encoders and decoders, :class:`Conv3dAE`) is folded, the norm
    replaced by ``nn.Identity``. Measured on the book's scene models (2,400 frames, one thread of a
    2-core AVX-512 Xeon): reconstruction 1.2-1.5x faster.

    Args:
        model: any of the book's models (left unchanged).

    Returns:
        A folded copy, in eval mode; use it for inference only (training it would train no norm).
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(model).eval()
    for seq in folded.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        for i in range(len(seq) - 1):
            conv, norm = seq[i], seq[i + 1]
            if isinstance(conv, _CONVS) and isinstance(norm, _NORMS):
                transpose = isinstance(conv, (nn.ConvTranspose2d, nn.ConvTranspose3d))
                seq[i], seq[i + 1] = fuse_conv_bn_eval(conv, norm, transpose=transpose), nn.Identity()
    return folded


# --------------------------------------------------------------------------- memory format


def model_channels_last(model: nn.Module) -> nn.Module:
    """Put the model's 4-D weights in ``channels_last`` and 5-D ones in ``channels_last_3d``, in place.

    Works for every kind, where ``model.to(memory_format=torch.channels_last)`` fails on
    :class:`Conv3dAE`'s 5-D weights. Returns the model.
    """
    for p in model.parameters():
        if p.dim() == 4:
            p.data = p.data.contiguous(memory_format=torch.channels_last)
        elif p.dim() == 5:
            p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
    return model


def clip_channels_last(x: torch.Tensor) -> torch.Tensor:
    """Lay a (B, T, C, H, W) clip out as (B, T, H, W, C) in memory, keeping its shape.

    Each frame ``x[b, t]`` is then channels-last, so the frame models' ``reshape`` to
    (B*T, C, H, W) is a channels-last batch without a copy, and Conv3dAE's permute to
    (B, C, T, H, W) is ``channels_last_3d``.
    """
    return x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)  # (B, T, C, H, W), strides of (B, T, H, W, C)
