"""The layering contracts of ``pyproject.toml`` hold, and a change that breaks one fails with the import named."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("synth", "manifests", "model", "baselines", "benchmark")
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(cwd), "COLUMNS": "200"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(LINT), str(cwd / "pyproject.toml"), "--no-cache", "--no-logo"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_the_import_contracts_hold():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.fixture
def copy_of_foabench(tmp_path) -> Path:
    """The five packages as a plain foabench/ namespace folder in ``tmp_path/src``, with the contracts beside."""
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / "src" / "foabench" / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_import(module: Path, line: str) -> None:
    module.write_text(module.read_text() + f"\n{line}  # noqa: E402\n")


def test_an_upward_import_breaks_the_layers_and_is_named(copy_of_foabench):
    src = copy_of_foabench / "src"
    assert _lint(copy_of_foabench, src).returncode == 0  # the copy itself is clean: the linter reads the copy
    _add_import(src / "foabench" / "synth" / "foa.py", "from foabench.benchmark import metrics")
    _add_import(src / "foabench" / "synth" / "banks" / "format.py", "from foabench.synth.scenes import manifest")
    result = _lint(copy_of_foabench, src)
    assert result.returncode == 1
    out = result.stdout
    assert "Contracts: 1 kept, 3 broken." in out  # both layers contracts, and the circle banks <-> scenes
    assert "foabench.synth is not allowed to import foabench.benchmark" in out
    assert "foabench.synth.foa -> foabench.benchmark.metrics (l." in out
    assert "foabench.synth.banks is not allowed to import foabench.synth.scenes" in out
    assert "foabench.synth.banks.format -> foabench.synth.scenes.manifest (l." in out
    assert "No cycles are allowed in foabench.synth." in out and ".banks -> .scenes (1 import)" in out


def test_an_import_circle_inside_a_package_is_named(copy_of_foabench):
    src = copy_of_foabench / "src"
    _add_import(src / "foabench" / "benchmark" / "separator.py", "from foabench.benchmark import separator_spec")
    result = _lint(copy_of_foabench, src)
    assert result.returncode == 1
    assert "Contracts: 3 kept, 1 broken." in result.stdout
    assert "No cycles are allowed in foabench.benchmark." in result.stdout
    assert ".separator -> .separator_spec (1 import)" in result.stdout
