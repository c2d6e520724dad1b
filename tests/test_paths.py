"""``resources_dir()`` finds the bundled resources from a checkout and from an installed package."""

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_viewer.paths import resource_path, resources_dir

ROOT = Path(__file__).resolve().parents[1]


def test_resources_found_from_the_checkout():
    folder = resources_dir()
    assert folder == ROOT / "resources"
    assert (folder / "models").is_dir()
    assert resource_path("models", "x.safetensors") == folder / "models" / "x.safetensors"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def missing_build_tools(version=importlib.metadata.version, find_spec=importlib.util.find_spec):
    """Why this environment cannot build the checkout offline, or None.

    The install below runs without build isolation and without an index, so
    pip and the build backend pyproject.toml names must already be installed
    (a venv with only the ``test`` extra need not have them).
    """
    if find_spec("pip") is None:
        return "pip is not installed"
    try:
        import tomllib
    except ImportError:                      # Python 3.10
        return "tomllib (Python 3.11) is needed to read the build requirements"
    with open(ROOT / "pyproject.toml", "rb") as f:
        requires = tomllib.load(f)["build-system"]["requires"]
    for requirement in requires:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*(?:>=\s*([0-9.]+))?\s*", requirement)
        if match is None:
            return f"cannot check the build requirement {requirement!r}"
        name, minimum = match.groups()
        try:
            have = version(name)
        except importlib.metadata.PackageNotFoundError:
            return f"the build backend needs {requirement}, which is not installed"
        if minimum and _version(have) < _version(minimum):
            return f"the build backend needs {requirement}; {name} {have} is installed"
        # setuptools before 70.1 builds a wheel only with the separate `wheel` package.
        if name == "setuptools" and _version(have) < (70, 1) and find_spec("wheel") is None:
            return f"setuptools {have} needs the `wheel` package to build a wheel"
    return None


def test_missing_build_tools_names_what_is_missing():
    pytest.importorskip("tomllib")

    def none_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    def pip_only(name):
        return object() if name == "pip" else None

    assert missing_build_tools(find_spec=lambda name: None) == "pip is not installed"
    assert "needs setuptools" in missing_build_tools(version=none_installed, find_spec=pip_only)
    assert "setuptools 65.5.0 is installed" in missing_build_tools(version=lambda name: "65.5.0",
                                                                   find_spec=pip_only)
    assert "`wheel`" in missing_build_tools(version=lambda name: "69.0", find_spec=pip_only)
    assert missing_build_tools(version=lambda name: "70.1.0", find_spec=pip_only) is None


def test_resources_found_from_an_installed_package(tmp_path):
    missing = missing_build_tools()
    if missing:
        pytest.skip(f"cannot build the package offline here: {missing} "
                    "(pip install 'setuptools>=68' to run this test)")
    # Build from a copy so the install leaves no build/ or egg-info in the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "lstm_viewer", src / "lstm_viewer", ignore=ignore)
    shutil.copytree(ROOT / "resources", src / "resources", ignore=ignore)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(src)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = ("import lstm_viewer.paths as p, lstm_viewer.cli.models as m; "
             "print(p.resources_dir()); print(len(m.model_lines()))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env,
                         check=True, capture_output=True, text=True, timeout=60).stdout.split()
    found = Path(out[0])
    assert found == target / "lstm_viewer" / "resources"
    assert (found / "models").is_dir()
    shipped = len(list((ROOT / "resources" / "models").glob("*.safetensors")))
    assert int(out[1]) == shipped


def test_missing_resources_is_a_clear_error(monkeypatch, tmp_path):
    import lstm_viewer.paths as paths

    monkeypatch.setattr(paths, "_HERE", tmp_path / "pkg")
    with pytest.raises(FileNotFoundError, match="resources"):
        paths.resources_dir()
