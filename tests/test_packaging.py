"""The installed distribution holds the whole package: every module of the source tree is in it.

The suite imports the package from the checkout it runs in, so a distribution that leaves a
subpackage out (an install step that forgets it) would pass every other test and then fail for
every user. This compares the source tree with what the installed distribution recorded."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

import checkpoint_stream

ROOT = Path(__file__).resolve().parents[1]


def _installed_files() -> set[str] | None:
    """The package's files the installed distribution recorded; None when there is no built
    distribution to look at (not installed, or installed editable: then the distribution is the
    source tree itself, or records no module files)."""
    # Not the checkout's own metadata (a build leaves an .egg-info there): an installed one.
    here = {str(ROOT), "", "."}
    paths = [p for p in sys.path if p not in here and Path(p or ".").resolve() != ROOT]
    dist = next(iter(metadata.distributions(name="checkpoint-stream", path=paths)), None)
    if dist is None:
        return None
    located = Path(str(dist.locate_file("checkpoint_stream/__init__.py"))).resolve()
    if located == (ROOT / "checkpoint_stream" / "__init__.py").resolve():
        return None
    names = {f.as_posix() for f in dist.files or () if f.as_posix().startswith("checkpoint_stream/")}
    return names or None


def test_the_distribution_holds_every_module() -> None:
    installed = _installed_files()
    if installed is None:
        pytest.skip("checkpoint-stream is not installed from a built distribution here (not installed, or installed editable): nothing to compare")
    source = {p.relative_to(ROOT).as_posix() for p in (ROOT / "checkpoint_stream").rglob("*.py")}
    assert source, "no source modules found"
    missing = sorted(source - installed)
    assert not missing, f"modules left out of the distribution: {missing}"
    assert "checkpoint_stream/py.typed" in installed


def test_the_package_imports_its_layers() -> None:
    """Every subpackage imports on its own (a layer importing another that is not shipped fails here)."""
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(checkpoint_stream.__path__, "checkpoint_stream."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
