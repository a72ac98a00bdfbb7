"""Package-wide promises: importing changes nothing global; every public function is documented."""

import importlib
import inspect
import pkgutil
import subprocess
import sys

import gruae

CHECK_IMPORT = r"""
import copy, random, warnings
import numpy as np, torch, matplotlib
state = (np.random.get_state()[1].tolist(), torch.get_rng_state().tolist(), random.getstate(),
         dict(matplotlib.rcParams), torch.get_num_threads(), torch.get_default_dtype(), list(warnings.filters))
import gruae, pkgutil, importlib
for m in pkgutil.iter_modules(gruae.__path__):
    if m.name != "__main__":
        importlib.import_module("gruae." + m.name)
after = (np.random.get_state()[1].tolist(), torch.get_rng_state().tolist(), random.getstate(),
         dict(matplotlib.rcParams), torch.get_num_threads(), torch.get_default_dtype(), list(warnings.filters))
names = ["numpy RNG", "torch RNG", "random", "rcParams", "threads", "default dtype", "warning filters"]
changed = [n for n, a, b in zip(names, state, after) if a != b]
print("changed:", changed)
assert not changed, changed
"""


def test_import_changes_no_global_state():
    r = subprocess.run([sys.executable, "-c", CHECK_IMPORT], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_public_function_has_a_docstring():
    missing = []
    for m in pkgutil.iter_modules(gruae.__path__):
        mod = importlib.import_module("gruae." + m.name)
        assert mod.__doc__, f"module gruae.{m.name} has no docstring"
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                if not inspect.getdoc(obj):
                    missing.append(f"gruae.{m.name}.{name}")
    assert not missing, missing


def test_import_and_help_are_cheap():
    """`import gruae` and `python -m gruae --help` load no torch: names load their module on first use."""
    code = ("import sys, gruae; from gruae.__main__ import build_parser; build_parser(); "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "gruae.ModelConfig; assert 'torch' in sys.modules; assert gruae.MODEL_NAMES['gruae'] == 'GRU-AE'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_package_docstring_names_every_module():
    for m in pkgutil.iter_modules(gruae.__path__):
        if m.name != "__main__":
            assert f" {m.name} " in gruae.__doc__ or f" {m.name}\n" in gruae.__doc__, f"gruae.{m.name} is missing from the package docstring"
