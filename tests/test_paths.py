"""``resources_dir()`` finds the bundled resources from a checkout and from an installed package."""

import os
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


def test_resources_found_from_an_installed_package(tmp_path):
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
