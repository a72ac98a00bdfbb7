"""Where the models run, and in what precision and memory layout.

One place decides, for training and scoring alike:

- :func:`resolve_device`: ``"auto"`` is CUDA, then Apple's MPS, then the CPU;
- :func:`choose_precision`: ``amp="auto"`` picks the fastest precision the hardware runs
  *natively*, never an emulated one: bfloat16 on CPUs with AVX-512 BF16 or AMX and on CUDA
  GPUs of compute capability >= 8.0 (Ampere and later); float16 with a gradient scaler on older
  CUDA GPUs (Colab's T4 has no bfloat16 convolution kernels, but fast float16 tensor cores);
  float32 everywhere else. On a CPU without native bfloat16 (AVX2 only: most laptops) every
  bfloat16 operation is emulated and about five times slower than float32;
- :func:`channels_last_helps`: the channels-last memory layout only where it pays (CUDA, and
  CPUs with native bfloat16 or AVX-512, whose oneDNN kernels prefer it);
- :func:`autocast`: the autocast context of a precision.

Every choice is a plain string (``"bf16"``, ``"fp16"``, ``"fp32"``) that training prints and
records in its checkpoints. Nothing here changes global state, except :func:`flush_denormals`,
which long runs call on purpose.
"""

from __future__ import annotations

import contextlib
import functools
import platform
import subprocess

import torch

__all__ = ["AMP_CHOICES", "resolve_device", "cpu_has_native_bf16", "cpu_has_avx512", "cuda_capability",
           "choose_precision", "channels_last_helps", "autocast", "describe_device", "flush_denormals"]

AMP_CHOICES = ("auto", "bf16", "fp16", "off")
"""Values of ``amp``: "auto" (see :func:`choose_precision`), a precision to force, or "off" (float32)."""


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Pick a device: ``"auto"`` gives cuda if available, then mps, else cpu.

    Args:
        name: ``"auto"`` or any torch device string.

    Returns:
        The :class:`torch.device`.
    """
    if str(name) != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (Linux); empty where it cannot be read."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags.update(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset(flags)


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (x86 AVX-512 BF16 or AMX, Arm BF16).

    Read from ``/proc/cpuinfo`` on Linux and from ``sysctl`` on macOS; False when neither tells.
    """
    flags = _cpu_flags()
    if flags:
        return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    if platform.system() == "Darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_BF16"], capture_output=True,
                                 text=True, timeout=5).stdout.strip()
            return out == "1"
        except (OSError, subprocess.SubprocessError):
            return False
    return False


def cpu_has_avx512() -> bool:
    """True when this x86 CPU has AVX-512 (the ``avx512f`` flag of ``/proc/cpuinfo``)."""
    return "avx512f" in _cpu_flags()


def cuda_capability(device: torch.device | str = "cuda") -> tuple[int, int]:
    """The CUDA compute capability ``(major, minor)`` of ``device`` (e.g. (7, 5) for a T4)."""
    return torch.cuda.get_device_capability(torch.device(device))


def choose_precision(device: torch.device | str, amp: str = "auto") -> str:
    """The precision to run in: ``"bf16"``, ``"fp16"`` or ``"fp32"``.

    Args:
        device: where the model runs.
        amp: ``"auto"`` (the fastest native precision, see the module docstring), ``"bf16"`` or
            ``"fp16"`` (forced), ``"off"`` (float32).

    Returns:
        The precision name.

    Raises:
        ValueError: unknown ``amp``, or ``"fp16"`` off CUDA (float16 training needs a GPU).
    """
    if amp not in AMP_CHOICES:
        raise ValueError(f"amp must be one of {', '.join(AMP_CHOICES)}, got {amp!r}")
    device = torch.device(device)
    if amp == "off" or device.type not in ("cuda", "cpu"):
        return "fp32"
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("amp='fp16' needs a CUDA device (on a CPU use 'bf16' or 'off')")
    if amp != "auto":
        return amp
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "bf16" if cuda_capability(device) >= (8, 0) else "fp16"


def channels_last_helps(device: torch.device | str, precision: str) -> bool:
    """Whether the channels-last memory layout speeds the convolutions up on ``device``.

    True on CUDA (cuDNN's tensor-core kernels want it) and on a CPU running native bfloat16 or
    having AVX-512 (oneDNN's kernels for both prefer it: the book's GRU-AE trained 1.4-1.8x and
    reconstructed 1.4-1.9x faster in float32 on a 2-core AVX-512 Xeon); False otherwise (float32 on
    a CPU without AVX-512: kept in the default layout, where no gain was measured).
    """
    device = torch.device(device)
    if device.type == "cuda":
        return True
    return device.type == "cpu" and (precision == "bf16" or cpu_has_avx512())


def autocast(device: torch.device | str, precision: str):
    """The autocast context for ``precision`` on ``device`` (a no-op for ``"fp32"``)."""
    device = torch.device(device)
    if precision == "fp32" or device.type not in ("cuda", "cpu"):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def describe_device(device: torch.device | str) -> str:
    """A short name of the hardware behind ``device``: the GPU's name, or the CPU model."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        name = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                name = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), name)
        except OSError:
            pass
        return f"{name} ({'native' if cpu_has_native_bf16() else 'no native'} bf16)"
    return device.type


def flush_denormals() -> bool:
    """From now on, in this process, CPU arithmetic treats denormal floats as zero (FTZ and DAZ).

    Denormals (nonzero floats below about 1e-38 in magnitude) take a slow path through the CPU's
    floating-point units. A long training run breeds them: after 12,000 steps about 5 % of the
    book's 3D-conv AE's Adam moments and 1.5 % of its weights were denormal, and its steps took
    twice as long as with them flushed (measured one thread, resuming the same checkpoint: 0.89
    against 1.68 it/s; the GRU-AE's, 1.11 against 1.39). Zero is as good a value for them.

    The mode is a property of each CPU thread, and threads inherit it when they start: made
    before the first parallel operation of the process, it reaches every thread of torch's pool;
    made later, only the calling thread. So the long runs (``python -m gruae train|pretrain``,
    :func:`gruae.pretrained.pretrain`) call it first; a notebook's short runs do not need it.

    Returns:
        False where the CPU has no such mode (then nothing changes).
    """
    return torch.set_flush_denormal(True)
