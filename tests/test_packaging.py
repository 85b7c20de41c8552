"""foabench owns one top-level name: the wheel installs ``foabench`` and nothing else, and it runs."""

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("synth", "manifests", "model", "baselines", "benchmark")


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {f"foabench.{f}": f for f in FOLDERS}
    on_disk = {"foabench." + ".".join(p.parent.relative_to(REPO).parts)
               for f in FOLDERS for p in (REPO / f).rglob("__init__.py")}  # fmt: skip
    assert set(config["packages"]) == on_disk


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a clean copy of the repository (setuptools builds in the source tree)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in FOLDERS:
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(src)], check=True, capture_output=True, cwd=out)  # fmt: skip
    (path,) = out.glob("foabench-*.whl")
    return path


def test_the_wheel_holds_foabench_and_nothing_else_at_the_top(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"foabench", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "foabench/__init__.py" not in names  # a namespace package: the folders are its portions
    for data in ("foabench/synth/scenes/specs/dcase2025.yaml", "foabench/synth/banks/starter/harvard_sentences.txt"):
        assert data in names
    assert {n.split("/")[1] for n in names if n.startswith("foabench/")} == set(FOLDERS)


def test_the_wheel_in_a_fresh_virtualenv_exposes_foabench_only(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True)  # fmt: skip
    # the dependencies (torch, numpy, ...) come from this environment's site-packages, read as a plain path so
    # that its .pth files (the editable install of this checkout among them) are not run
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())  # fmt: skip
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    (site / "foabench-test-deps.pth").write_text(deps + "\n")
    record = next(site.glob("foabench-*.dist-info")) / "RECORD"
    installed = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    assert {n for n in installed if not n.endswith(".dist-info") and n != ".."} == {"foabench"}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    check = ("import importlib.util, foabench, foabench.model.bsast; "
             f"print([n for n in {FOLDERS!r} if importlib.util.find_spec(n)]); "
             "print(list(foabench.__path__)[0])")  # fmt: skip
    out = subprocess.run([str(py), "-c", check], capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    found, where = out.stdout.splitlines()
    assert found == "[]" and where == str(site / "foabench")
    cli = subprocess.run([str(venv / "bin" / "foabench"), "--help"], capture_output=True, text=True, cwd=tmp_path,
                         env=env)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert "bank" in cli.stdout and "eval" in cli.stdout and "leaderboard" in cli.stdout
