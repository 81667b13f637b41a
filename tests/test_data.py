"""cnnviz.course.data: Fashion-MNIST placed in Keras' cache offline, and checked.

Every test runs with KERAS_HOME in its own tmp folder, FASHION_MNIST_DIR unset,
no Debian package (DEBIAN_DIR points at a missing folder) and apt-get stubbed
out; a test that wants a source sets one up from copies of the real Debian
files. The real ~/.keras and /usr/share/datasets are never written.
"""

from __future__ import annotations

import filecmp
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz import COURSE_ROOT, CourseError
from cnnviz.course import data

OFFICIAL_DIR = data.DEBIAN_DIR  # the installed dataset-fashion-mnist, read before any monkeypatching
NAMES = [f.name for f in data.FILES]
REAL_INSTALL_DEBIAN_PACKAGE = data.install_debian_package


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No source at all unless a test adds one; apt-get calls are recorded, never made."""
    apt_calls = []

    def no_apt():
        apt_calls.append(True)
        return False

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv(data.ENV_DIR, raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian-package")
    monkeypatch.setattr(data, "install_debian_package", no_apt)
    return apt_calls


def copy_official(folder: Path) -> Path:
    """Copies (not symlinks: tests overwrite them) of the four official files."""
    missing = [n for n in NAMES if not (OFFICIAL_DIR / n).is_file()]
    if missing:
        pytest.fail(f"{OFFICIAL_DIR} lacks {missing}: `apt-get install {data.DEBIAN_PACKAGE}`")
    folder.mkdir(parents=True)
    for name in NAMES:
        shutil.copyfile(OFFICIAL_DIR / name, folder / name)
    return folder


@pytest.fixture
def source(tmp_path, monkeypatch) -> Path:
    """A folder with the official files, named by FASHION_MNIST_DIR."""
    folder = copy_official(tmp_path / "source")
    monkeypatch.setenv(data.ENV_DIR, str(folder))
    return folder


@pytest.fixture
def target(tmp_path) -> Path:
    return tmp_path / "cache"


def assert_same_files(target: Path, source: Path):
    assert sorted(os.listdir(target)) == sorted(NAMES)  # nothing else, no leftover .part
    for name in NAMES:
        assert filecmp.cmp(target / name, source / name, shallow=False), name


def prepare_error(target: Path) -> str:
    """The message of the one CourseError that prepare() raises, checked to be a single clean line."""
    with pytest.raises(CourseError) as info:
        data.prepare(target=target)
    error = info.value
    # No chained second error: a traceback would show it after the message.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    message = str(error)
    assert "\n" not in message
    return message


def assert_names_file_and_fixes(message: str, path: Path):
    assert str(path) in message
    assert data.ENV_DIR in message
    assert "apt-get install dataset-fashion-mnist" in message


# --- where the files come from ---------------------------------------------------------


def test_files_from_FASHION_MNIST_DIR_fill_the_target(source, target, capsys):
    assert data.prepare(target=target) == target
    assert_same_files(target, source)
    assert "ready" in capsys.readouterr().out


def test_keras_load_data_reads_the_placed_files_offline(source, tmp_path):
    keras_home = tmp_path / "keras-home"
    target = keras_home / "datasets" / "fashion-mnist"
    assert data.keras_cache_dir() == target
    data.prepare(target=target)

    # Keras reads KERAS_HOME when it is imported, hence a fresh interpreter.
    # The dead proxy makes any download attempt fail instead of reaching the internet.
    dead_proxy = "http://127.0.0.1:9"
    env = dict(os.environ, KERAS_HOME=str(keras_home), HTTP_PROXY=dead_proxy, HTTPS_PROXY=dead_proxy,
               http_proxy=dead_proxy, https_proxy=dead_proxy, NO_PROXY="", no_proxy="")
    env.pop(data.ENV_DIR)
    code = (
        "import json, keras\n"
        "(x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()\n"
        "print(json.dumps({'train': x.shape, 'test': xt.shape, 'train_labels': len(y),"
        " 'test_labels': len(yt), 'label0': int(y[0])}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Downloading" not in result.stdout + result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {"train": [60000, 28, 28], "test": [10000, 28, 28], "train_labels": 60000,
                      "test_labels": 10000, "label0": 9}
    assert_same_files(target, source)  # Keras added nothing


def test_files_come_from_the_debian_package_when_FASHION_MNIST_DIR_is_unset(monkeypatch, tmp_path, target):
    debian = copy_official(tmp_path / "debian")
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    assert data.find_source() == debian
    data.prepare(target=target)
    assert_same_files(target, debian)


def test_FASHION_MNIST_DIR_takes_precedence_over_the_debian_package(monkeypatch, tmp_path):
    (tmp_path / "debian").mkdir()
    (tmp_path / "named").mkdir()
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "named"))
    assert data.find_source() == tmp_path / "named"


def test_without_any_source_prepare_returns_the_target_and_says_keras_will_download(isolated, target, capsys):
    assert data.prepare(target=target) == target
    assert "will download" in capsys.readouterr().out
    assert target.is_dir() and os.listdir(target) == []
    assert len(isolated) == 1  # apt-get was asked (stubbed) once


def test_without_any_source_a_broken_cached_file_is_removed_so_keras_downloads_it(target, capsys):
    # Keras only downloads absent files: a broken one left in place would break load_data().
    target.mkdir()
    (target / NAMES[1]).write_bytes(b"half a download")
    data.prepare(target=target)
    assert not (target / NAMES[1]).exists()
    assert "will download" in capsys.readouterr().out


def test_install_debian_package_without_apt_get_says_so_and_returns_false(monkeypatch, capsys):
    def forbidden(*args, **kwargs):
        raise AssertionError(f"the test tried to run {args}")

    monkeypatch.setattr(data.shutil, "which", lambda name: None)
    monkeypatch.setattr(data.subprocess, "run", forbidden)
    assert REAL_INSTALL_DEBIAN_PACKAGE() is False
    out = capsys.readouterr().out
    assert "apt-get cannot be used" in out and data.DEBIAN_PACKAGE in out


# --- keras_cache_dir --------------------------------------------------------------------


def test_keras_cache_dir_honours_KERAS_HOME(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "elsewhere"))
    assert data.keras_cache_dir() == tmp_path / "elsewhere" / "datasets" / "fashion-mnist"


def test_keras_cache_dir_expands_a_tilde_in_KERAS_HOME_like_keras(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", "~/kh")
    assert data.keras_cache_dir() == tmp_path / "kh" / "datasets" / "fashion-mnist"


def test_keras_cache_dir_defaults_to_dot_keras_in_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.keras_cache_dir() == tmp_path / ".keras" / "datasets" / "fashion-mnist"


# --- what is already in the cache -------------------------------------------------------

LONG_AGO = 1_000_000_000  # 2001: a copy made by prepare() would carry today's time


def test_good_cached_files_are_kept_untouched(source, target, monkeypatch):
    data.prepare(target=target)
    for name in NAMES:
        os.utime(target / name, (LONG_AGO, LONG_AGO))
    monkeypatch.delenv(data.ENV_DIR)  # no source needed any more
    assert data.prepare(target=target) == target
    assert [(target / n).stat().st_mtime for n in NAMES] == [LONG_AGO] * 4


def test_a_broken_cached_file_is_replaced_from_the_source(source, target):
    data.prepare(target=target)
    for name in NAMES:
        os.utime(target / name, (LONG_AGO, LONG_AGO))
    broken = NAMES[3]
    (target / broken).write_bytes(b"not gzip at all")
    data.prepare(target=target)
    assert_same_files(target, source)
    assert (target / broken).stat().st_mtime != LONG_AGO
    assert [(target / n).stat().st_mtime for n in NAMES[:3]] == [LONG_AGO] * 3


# --- a bad source fails with one message that says how to fix it -----------------------


def test_a_missing_source_file_gives_one_error_naming_it_and_the_fixes(source, target):
    missing = source / NAMES[1]
    missing.unlink()
    message = prepare_error(target)
    assert "missing" in message
    assert_names_file_and_fixes(message, missing)
    assert not (target / NAMES[1]).exists()


def test_a_truncated_source_file_gives_one_error_naming_it_and_the_fixes(source, target):
    truncated = source / NAMES[3]
    raw = truncated.read_bytes()
    truncated.write_bytes(raw[: len(raw) // 2])
    message = prepare_error(target)
    assert "truncated or corrupt" in message
    assert_names_file_and_fixes(message, truncated)
    # A broken source is never copied, not even under a temporary name.
    assert not (target / NAMES[3]).exists()
    assert not list(target.glob("*.part"))


def test_a_valid_gzip_with_other_content_fails_as_unexpected_content(source, target):
    wrong = source / NAMES[2]
    wrong.write_bytes(gzip.compress(b"these are not Fashion-MNIST labels\n" * 500))
    message = prepare_error(target)
    assert "unexpected content" in message
    assert_names_file_and_fixes(message, wrong)
    assert not (target / NAMES[2]).exists()


@pytest.mark.parametrize("kind", ["nonexistent", "regular file"])
def test_FASHION_MNIST_DIR_naming_a_non_folder_fails_clearly(kind, monkeypatch, tmp_path, target):
    named = tmp_path / "fashion-mnist.gz"
    if kind == "regular file":
        named.write_bytes(b"")
    monkeypatch.setenv(data.ENV_DIR, str(named))
    message = prepare_error(target)
    assert f"{data.ENV_DIR} names {named}, which is not a folder" in message


# --- the command line -------------------------------------------------------------------


def test_cli_data_with_a_broken_FASHION_MNIST_DIR_prints_one_error_line_and_no_traceback(tmp_path):
    named = tmp_path / "no-such-folder"
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras-home"), FASHION_MNIST_DIR=str(named))
    result = subprocess.run([sys.executable, "-m", "cnnviz", "data"], cwd=COURSE_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert str(named) in lines[0]
