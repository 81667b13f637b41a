"""Fashion-MNIST without internet: fill Keras' cache so that
``keras.datasets.fashion_mnist.load_data()`` works unchanged in the notebooks.

Where the files come from, in order:

1. a folder named by the environment variable ``FASHION_MNIST_DIR``;
2. the Debian package ``dataset-fashion-mnist`` (installed with apt-get when
   it is missing and apt-get can be used);
3. otherwise nothing is placed and Keras downloads the files itself.

Placed files are checked by their *decompressed* content: Debian recompressed
the upstream files, so the ``.gz`` bytes (and their hashes) differ while the
images and labels are the same.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cnnviz import CourseError, settings
from cnnviz.settings import keras_cache_dir

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
ENV_DIR = settings.FASHION_MNIST_VARIABLE


@dataclass(frozen=True)
class DataFile:
    name: str
    count: int
    is_images: bool
    # sha256 of the decompressed IDX content of the official release.
    sha256: str


FILES = (
    DataFile("train-labels-idx1-ubyte.gz", 60000, False,
             "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    DataFile("train-images-idx3-ubyte.gz", 60000, True,
             "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    DataFile("t10k-labels-idx1-ubyte.gz", 10000, False,
             "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    DataFile("t10k-images-idx3-ubyte.gz", 10000, True,
             "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
)

ANKLE_BOOT = 9

FIXES = (
    "How to fix: delete the file and run `make data` again; or set "
    f"{ENV_DIR}=/folder/with/the/four/official/.gz/files; or install the "
    f"Debian package with `sudo apt-get install {DEBIAN_PACKAGE}`; or remove "
    "it and let Keras download it where there is internet."
)


def read_idx(path: Path, expected: DataFile) -> np.ndarray:
    """Decompress and parse one IDX file; raise CourseError naming the file if it is unusable."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise CourseError(f"Fashion-MNIST file missing: {path}. {FIXES}") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise CourseError(
            f"Fashion-MNIST file is truncated or corrupt: {path} ({exc}). {FIXES}"
        ) from None
    if hashlib.sha256(raw).hexdigest() != expected.sha256:
        raise CourseError(
            f"Fashion-MNIST file has unexpected content: {path} "
            f"(its decompressed bytes are not the official {expected.name}). {FIXES}"
        )
    offset = 16 if expected.is_images else 8
    array = np.frombuffer(raw, np.uint8, offset=offset)
    return array.reshape(-1, 28, 28) if expected.is_images else array


def train_image_zero(folder: Path | None = None) -> np.ndarray:
    """Training image 0 (uint8, 28 x 28), read and checked from Keras' cache (or ``folder``)."""
    expected = next(f for f in FILES if f.is_images and f.count == 60000)
    return read_idx((folder or keras_cache_dir()) / expected.name, expected)[0].copy()


def verify(folder: Path) -> dict[str, np.ndarray]:
    """Check the four files in ``folder`` (count, shape, labels, first image); return the arrays."""
    arrays = {expected.name: read_idx(folder / expected.name, expected)
              for expected in tqdm(FILES, desc="checking Fashion-MNIST", unit="file", leave=False)}
    _check_arrays(folder, arrays)
    return arrays


def _check_arrays(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Counts, label range and the ankle boot, on arrays already read from ``folder``."""
    for expected in FILES:
        array = arrays[expected.name]
        if len(array) != expected.count:
            raise CourseError(
                f"{folder / expected.name} holds {len(array)} items, expected {expected.count}. {FIXES}"
            )
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        if arrays[name].min() < 0 or arrays[name].max() > 9:
            raise CourseError(f"{folder / name} has labels outside 0-9. {FIXES}")
    if arrays["train-labels-idx1-ubyte.gz"][0] != ANKLE_BOOT:
        raise CourseError(
            f"{folder} is not the official Fashion-MNIST: training image 0 should be an ankle boot (label 9). {FIXES}"
        )


def install_debian_package() -> bool:
    """Install ``dataset-fashion-mnist`` with apt-get when we may; return whether its files are there."""
    if DEBIAN_DIR.is_dir():
        return True
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        print(f"[data] {DEBIAN_DIR} is missing and apt-get cannot be used here "
              f"(install {DEBIAN_PACKAGE} as root to get it).")
        return False
    print(f"[data] installing the Debian package {DEBIAN_PACKAGE} with apt-get ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run([apt, "install", "-y", "-q", DEBIAN_PACKAGE], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        # The package lists may be missing on a fresh machine.
        subprocess.run([apt, "update", "-q"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        result = subprocess.run([apt, "install", "-y", "-q", DEBIAN_PACKAGE], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        print(f"[data] apt-get could not install {DEBIAN_PACKAGE}: {result.stderr.strip()[-300:]}")
    return DEBIAN_DIR.is_dir()


def find_source(allow_apt: bool = True) -> Path | None:
    """The folder to copy from: ``$FASHION_MNIST_DIR``, then Debian's, else None."""
    named = settings.fashion_mnist_dir()
    if named:
        folder = Path(named).expanduser()
        if not folder.is_dir():
            raise CourseError(
                f"{ENV_DIR} names {folder}, which is not a folder. Set it to the folder that holds "
                f"the four Fashion-MNIST .gz files, or unset it to use the Debian package."
            )
        return folder
    if DEBIAN_DIR.is_dir() or (allow_apt and install_debian_package()):
        return DEBIAN_DIR
    return None


def _read_if_good(path: Path, expected: DataFile) -> np.ndarray | None:
    try:
        return read_idx(path, expected)
    except CourseError:
        return None


def prepare(target: Path | None = None, allow_apt: bool = True) -> Path:
    """Fill Keras' Fashion-MNIST cache from the first source found and verify it.

    Good files already in the cache are kept; missing or broken ones are
    replaced from the source. Returns the cache folder.
    """
    target = Path(target) if target is not None else keras_cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    # Each file is decompressed once: the cached copy if it is good, else the source's.
    arrays = {f.name: _read_if_good(target / f.name, f) for f in FILES}
    missing = [f for f in FILES if arrays[f.name] is None]
    if missing:
        source = find_source(allow_apt=allow_apt)
        if source is None:
            # Keras downloads only the files that are absent: it keeps a broken one.
            for expected in missing:
                (target / expected.name).unlink(missing_ok=True)
            print(f"[data] no local copy found; keras.datasets.fashion_mnist.load_data() "
                  f"will download into {target} where there is internet.")
            return target
        print(f"[data] copying {len(missing)} Fashion-MNIST file(s) from {source} to {target}")
        for expected in tqdm(missing, desc="copying", unit="file"):
            arrays[expected.name] = read_idx(source / expected.name, expected)  # never copy a broken source
            # Copy to a temporary name first so an interrupted copy never looks complete.
            partial = target / (expected.name + ".part")
            shutil.copyfile(source / expected.name, partial)
            partial.replace(target / expected.name)
    _check_arrays(target, arrays)
    print(f"[data] Fashion-MNIST ready in {target}: 60000 + 10000 images of 28x28, labels 0-9")
    return target
