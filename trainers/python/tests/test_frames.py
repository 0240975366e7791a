"""Which frames are the trainer's own: a library reached through a .pth file, a symlink, a
``pip install --target`` folder or another site-packages folder on PYTHONPATH is never named; the
user's own package, editable-installed, is.

Each case builds its layout in a fresh virtual environment (``python -m venv --without-pip``) and
asks that environment's interpreter where an exception raised in a library was, as the worker does.
"""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PACKAGE_ROOT = TESTS.parent
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])  # this environment's: torch for the worker case

LIBRARY = '''\
def explode(value):
    return _check(value)


def _check(value):
    raise ValueError(f"{__name__}: bad value {value}")


def fit(step):
    for batch in range(2):
        step(batch)
'''

USER = '''\
import {library}


def train():
    return {library}.explode(3)


def train_with_callback():
    {library}.fit(step)


def step(batch):
    raise KeyError(batch)
'''

# The driver runs as "<string>": like the worker's own code, it is not the trainer's.
DRIVER = '''\
import importlib, json, sys
from accumaudit_probe.frames import describe_frame, frames_of_exception, short_path, trainer_frames
module, function = sys.argv[1].split(":")
try:
    getattr(importlib.import_module(module), function)()
except Exception as error:
    frames = frames_of_exception(error)
    own = trainer_frames(frames)
    print(json.dumps({
        "where": describe_frame(own[-1]) if own else None,
        "innermost": short_path(frames[-1].path),
        "own": [[f.path, f.function] for f in own],
        "all": [[f.path, f.function] for f in frames],
    }))
'''


def make_venv(root: Path) -> tuple[Path, Path]:
    """A fresh virtual environment under ``root``: its interpreter and its site-packages folder."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python*/site-packages"))
    return venv / "bin" / "python", site


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_dist_info(location: Path, name: str, files: list[str], editable_url: str | None = None) -> None:
    """A ``NAME-1.0.dist-info`` as pip writes it into ``location``, its RECORD listing ``files``."""
    info = location / f"{name}-1.0.dist-info"
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    write(info / "INSTALLER", "pip\n")
    if editable_url is not None:
        write(info / "direct_url.json", json.dumps({"url": editable_url, "dir_info": {"editable": True}}))
    listed = [*files, *(f"{info.name}/{f}" for f in ("METADATA", "INSTALLER", "RECORD"))]
    write(info / "RECORD", "".join(f"{f},,\n" for f in listed))


def locate(python: Path, target: str, pythonpath: list[Path]) -> dict:
    """Where the driver, run by ``python``, says ``target`` (``module:function``) failed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [PACKAGE_ROOT, *pythonpath])
    done = subprocess.run(
        [str(python), "-c", DRIVER, target], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    return json.loads(done.stdout)


def user_module(root: Path, library: str) -> Path:
    """The user's trainer module (``user_train``) that calls ``library``; its folder, for PYTHONPATH."""
    write(root / "user" / "user_train.py", USER.format(library=library))
    return root / "user"


def install_by_pth(root: Path, site: Path) -> list[Path]:
    write(root / "vendor" / "fakelib" / "__init__.py", LIBRARY)
    write(site / "vendor.pth", f"# libraries shared between environments\n{root / 'vendor'}\n")
    return []


def install_by_symlinked_package(root: Path, site: Path) -> list[Path]:
    write(root / "store" / "fakelib" / "__init__.py", LIBRARY)
    (site / "fakelib").symlink_to(root / "store" / "fakelib", target_is_directory=True)
    return []


def install_into_symlinked_site_packages(root: Path, site: Path) -> list[Path]:
    store = root / "store" / "site-packages"
    write(store / "fakelib" / "__init__.py", LIBRARY)
    site.rmdir()
    site.symlink_to(store, target_is_directory=True)
    return []


def install_by_pip_target(root: Path, site: Path) -> list[Path]:
    target = root / "target"
    write(target / "fakelib" / "__init__.py", LIBRARY)
    write_dist_info(target, "fakelib", ["fakelib/__init__.py"])
    return [target]


def install_in_other_site_packages(root: Path, site: Path) -> list[Path]:
    other = root / "other-venv" / "lib" / "python3" / "site-packages"
    write(other / "fakelib" / "__init__.py", LIBRARY)
    return [other]


def install_in_site_packages(root: Path, site: Path) -> list[Path]:
    write(site / "fakelib" / "__init__.py", LIBRARY)
    return []


INSTALLS = [
    install_by_pth,
    install_by_symlinked_package,
    install_into_symlinked_site_packages,
    install_by_pip_target,
    install_in_other_site_packages,
    install_in_site_packages,
]


@pytest.mark.parametrize("install", INSTALLS, ids=lambda f: f.__name__.removeprefix("install_"))
def test_a_library_frame_is_never_the_location(tmp_path, install):
    python, site = make_venv(tmp_path)
    pythonpath = [user_module(tmp_path, "fakelib"), *install(tmp_path, site)]
    user_file = str(tmp_path / "user" / "user_train.py")

    raised = locate(python, "user_train:train", pythonpath)
    assert [function for _, function in raised["all"][-2:]] == ["explode", "_check"]  # the library raised
    assert raised["own"] == [[user_file, "train"]]
    assert raised["where"] == "user_train.py:5 in train"
    assert raised["innermost"] == "fakelib/__init__.py"  # as a hung rank's "waiting in _check (...)" names it

    # The library calls the user's code back: the user's frames on both sides of it, and no other.
    called_back = locate(python, "user_train:train_with_callback", pythonpath)
    assert called_back["own"] == [[user_file, "train_with_callback"], [user_file, "step"]]
    assert called_back["where"] == "user_train.py:13 in step"


EDITABLE_PTH_NAMES = ["_userpkg.pth", "__editable__.userpkg-1.0.pth", "easy-install.pth"]


@pytest.mark.parametrize("pth", EDITABLE_PTH_NAMES)
def test_the_users_editable_install_is_the_users_code(tmp_path, pth):
    """An editable install adds the project's folder to sys.path through a .pth file, as a folder of
    libraries would: the installed distribution's direct_url.json (PEP 610) or the .pth file's name
    (setuptools' ``__editable__``, the legacy ``easy-install.pth``) tells them apart."""
    python, site = make_venv(tmp_path)
    install_by_pth(tmp_path, site)  # fakelib: a library the user's package calls
    source = tmp_path / "project" / "src"
    write(source / "userpkg" / "__init__.py", "")
    write(source / "userpkg" / "loop.py", USER.format(library="fakelib"))
    write(site / pth, f"{source}\n")
    if pth == "_userpkg.pth":  # hatchling's name: only the distribution's RECORD says it is editable
        write_dist_info(site, "userpkg", [pth], editable_url=(tmp_path / "project").as_uri())

    raised = locate(python, "userpkg.loop:train", [])
    assert raised["own"] == [[str(source / "userpkg" / "loop.py"), "train"]]
    assert raised["where"] == "loop.py:5 in train"
    called_back = locate(python, "userpkg.loop:train_with_callback", [])
    assert [function for _, function in called_back["own"]] == ["train_with_callback", "step"]


def test_a_pth_file_of_no_editable_install_adds_libraries_even_beside_one(tmp_path):
    """A distribution installed normally, whose RECORD lists its .pth file, is a library."""
    python, site = make_venv(tmp_path)
    write(tmp_path / "vendor" / "fakelib" / "__init__.py", LIBRARY)
    write(site / "fakelib-paths.pth", f"{tmp_path / 'vendor'}\n")
    write_dist_info(site, "fakelib", ["fakelib-paths.pth"])
    raised = locate(python, "user_train:train", [user_module(tmp_path, "fakelib")])
    assert raised["where"] == "user_train.py:5 in train"


TORCH_USER = '''\
import torch


def train(ctx):
    logits = torch.zeros(4, 3)
    torch.nn.functional.cross_entropy(logits, torch.zeros(5, dtype=torch.long))
'''


def test_the_worker_names_the_users_frame_when_torch_comes_through_a_pth_file(tmp_path, make_scenario, data):
    """torch itself, reached through a .pth file that adds another environment's site-packages."""
    python, site = make_venv(tmp_path)
    write(site / "shared-libraries.pth", f"{SITE_PACKAGES}\n")
    user_file = write(tmp_path / "user" / "torch_user.py", TORCH_USER)
    features, labels = data(8)
    request = {
        "type": "run",
        "id": "t1",
        "trainer": "torch_user:train",
        "scenario": make_scenario(datasetSize=8),
        "dataset": {"features": features, "labels": labels},
        "initialParameters": [0.1, -0.2, 0.3, 0.05],
    }
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_ROOT), str(tmp_path / "user")])
    done = subprocess.run(
        [str(python), "-m", "accumaudit_probe.worker"],
        input=json.dumps(request) + "\n", capture_output=True, text=True, env=env, timeout=300, check=True,
    )
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["type"] == "error", answer
    assert answer["message"].endswith("(torch_user.py:6 in train)"), answer["message"]
    assert [(f["file"], f["function"]) for f in answer["traceback"]] == [(str(user_file), "train")]
