"""Reference values for grading, recomputed from the checkpoint file and the data files.

Nothing expected is stored in the repository: an instructor who retrains or
replaces the checkpoint gets checks that follow it. The grader computes the
references in its own process, never from the student's objects, and keeps
them in a cache keyed by the checkpoint's sha256 (``~/.cache/cnnviz``), so a
class loads Keras for them once, not once per student.

The lesson's feature maps are the outputs of the CNN's first layers on an
input. The grader needs them for the student's own ``sample_batch`` as well
as for the fixed probe, so they are computed here with NumPy from the
cached weights (``conv_output``), which agrees with Keras to about 1e-6.
"""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import CHECKPOINT_NAME, CourseError, facts

CACHE_VERSION = 1


@dataclass(frozen=True)
class References:
    """What the checks compare with, read from one checkpoint and the data files."""

    layer_classes: tuple[str, ...]
    weights_digest: str
    conv_kernels: tuple[np.ndarray, ...]  # one per Conv2D layer, in order
    conv_biases: tuple[np.ndarray, ...]
    train_image: np.ndarray  # training image 0 as stored (uint8, 28 x 28)

    @property
    def kernel(self) -> np.ndarray:
        """The first Conv2D layer's kernel, (3, 3, 1, 32)."""
        return self.conv_kernels[0]

    @property
    def bias(self) -> np.ndarray:
        """The first Conv2D layer's bias, (32,)."""
        return self.conv_biases[0]

    def sample_batch(self) -> np.ndarray:
        """The lesson's input: training image 0 as a (1, 28, 28, 1) batch scaled to 0-1."""
        return (self.train_image.reshape(1, 28, 28, 1) / 255.0).astype(np.float32)

    def stage_outputs(self, batch: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """The CNN's stages on ``batch``: (name, output) for conv 1, pool 1, conv 2, pool 2."""
        stages = []
        x = np.asarray(batch, dtype=np.float64)
        for number, (kernel, bias) in enumerate(zip(self.conv_kernels[:2], self.conv_biases[:2]), start=1):
            x = conv_output(x, kernel, bias)
            stages.append((f"conv{number}", x))
            x = max_pool(x)
            stages.append((f"pool{number}", x))
        return stages

    def feature_maps(self, conv_number: int, batch: np.ndarray | None = None) -> np.ndarray:
        """Output of the ``conv_number``-th Conv2D layer (1-based) on ``batch`` (default: the lesson's sample)."""
        batch = self.sample_batch() if batch is None else batch
        return dict(self.stage_outputs(batch))[f"conv{conv_number}"]


def conv_output(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A Conv2D layer with 'same' padding, stride 1 and ReLU, as Keras computes it."""
    kh, kw = kernel.shape[:2]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    windows = sliding_window_view(padded, (kh, kw), axis=(1, 2))  # (N, H, W, C, kh, kw)
    out = np.einsum("nhwcij,ijcf->nhwf", windows, kernel.astype(np.float64), optimize=True) + bias
    return np.maximum(out, 0.0)


def max_pool(x: np.ndarray) -> np.ndarray:
    """A 2 x 2 max pooling layer with stride 2."""
    n, h, w, c = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


# --------------------------------------------------------------------------- loading


@contextmanager
def preserved_random_state():
    """Run a block without moving Python's, NumPy's or Keras' global random state.

    Loading a model draws initial weights from Keras' global seed generator.
    Without this, an instructor's hidden test that loads the checkpoint in the
    notebook would change the "untrained" weights its next cells draw.
    """
    from keras.src.random.seed_generator import global_seed_generator

    python_state, numpy_state = random.getstate(), np.random.get_state()
    generator = global_seed_generator()
    keras_state = generator.state.numpy().copy()
    try:
        yield
    finally:
        generator.state.assign(keras_state)
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_dir() -> Path:
    """Where computed references are kept: ``$CNNVIZ_CACHE`` or ``~/.cache/cnnviz``."""
    return Path(os.environ.get("CNNVIZ_CACHE") or Path.home() / ".cache" / "cnnviz")


def _compute(checkpoint: Path) -> References:
    import keras

    from .data import train_image_zero

    with preserved_random_state():
        model = keras.models.load_model(checkpoint, compile=False)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    for layer in convs[:2]:
        if layer.padding != "same" or layer.strides != (1, 1) or layer.activation.__name__ != "relu":
            raise CourseError(f"{checkpoint}: the lesson's convolution layers use 'same' padding, stride 1 "
                              "and ReLU; retrain it with `python -m cnnviz train`")
    weights = [keras.ops.convert_to_numpy(w) for w in model.weights]
    return References(
        layer_classes=tuple(type(layer).__name__ for layer in model.layers),
        weights_digest=facts.weights_digest(weights),
        conv_kernels=tuple(keras.ops.convert_to_numpy(layer.kernel) for layer in convs),
        conv_biases=tuple(keras.ops.convert_to_numpy(layer.bias) for layer in convs),
        train_image=train_image_zero(),
    )


def _save(refs: References, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"train_image": refs.train_image}
    for i, (kernel, bias) in enumerate(zip(refs.conv_kernels, refs.conv_biases)):
        arrays[f"kernel{i}"], arrays[f"bias{i}"] = kernel, bias
    meta = np.array([CACHE_VERSION, refs.weights_digest, *refs.layer_classes])
    # Written to a temporary name and renamed: graders working in parallel never read half a file.
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".npz", delete=False) as handle:
        np.savez(handle, meta=meta, **arrays)
    os.replace(handle.name, target)


def _load(path: Path) -> References | None:
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = [str(v) for v in archive["meta"]]
            if meta[0] != str(CACHE_VERSION):
                return None
            count = sum(1 for name in archive.files if name.startswith("kernel"))
            return References(
                layer_classes=tuple(meta[2:]),
                weights_digest=meta[1],
                conv_kernels=tuple(archive[f"kernel{i}"] for i in range(count)),
                conv_biases=tuple(archive[f"bias{i}"] for i in range(count)),
                train_image=archive["train_image"],
            )
    except (OSError, KeyError, ValueError, IndexError):
        return None  # absent or damaged: computed again


@lru_cache(maxsize=4)
def _references(checkpoint: str, digest: str) -> References:
    cached = cache_dir() / f"references-{digest[:32]}.npz"
    refs = _load(cached)
    if refs is None:
        refs = _compute(Path(checkpoint))
        try:
            _save(refs, cached)
        except OSError:
            pass  # a read-only home still grades; it just computes again next time
    return refs


def for_checkpoint(checkpoint: str | Path) -> References:
    """The references of the checkpoint file ``checkpoint`` (an absolute path in the grader)."""
    path = Path(checkpoint)
    if not path.is_file():
        raise CourseError(f"no checkpoint at {path}: the grader reads the instructor's copy in "
                          f"source/<assignment>/{CHECKPOINT_NAME}")
    return _references(str(path.resolve()), _digest(path))
