"""Reference values for grading, recomputed from the checkpoint file and the data files.

Nothing expected is stored in the repository: an instructor who retrains or
replaces the checkpoint gets checks that follow it. The grader computes the
references in its own process, never from the student's objects, and keeps
them in a cache keyed by the checkpoint's sha256 (``~/.cache/cnnviz``), so a
class loads Keras for them once, not once per student.

The lesson's feature maps are the outputs of the CNN's layers on an input.
The grader needs them for the student's own ``sample_batch`` as well as for
the fixed probe, so the CNN's forward pass is computed here with NumPy from
the cached weights (``stage_outputs``), which agrees with Keras to about 1e-6.
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

from cnnviz import CHECKPOINT_NAME, CourseError, facts, settings

CACHE_VERSION = 2
# The layers the NumPy forward pass knows, with the activations it applies.
ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "softmax": lambda x: np.exp(x - x.max(axis=-1, keepdims=True))
    / np.exp(x - x.max(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True),
    "linear": lambda x: x,
}


@dataclass(frozen=True)
class LayerWeights:
    """One layer of the checkpoint as the forward pass needs it."""

    class_name: str
    activation: str  # "" for layers without one
    weights: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class References:
    """What the checks compare with, read from one checkpoint and the data files."""

    layers: tuple[LayerWeights, ...]
    weights_digest: str
    train_image: np.ndarray  # training image 0 as stored (uint8, 28 x 28)

    @property
    def layer_classes(self) -> tuple[str, ...]:
        """The checkpoint's layer classes, in order."""
        return tuple(layer.class_name for layer in self.layers)

    def conv_index(self, conv_number: int) -> int:
        """Index in ``model.layers`` of the ``conv_number``-th Conv2D layer (1-based)."""
        return [i for i, layer in enumerate(self.layers) if layer.class_name == "Conv2D"][conv_number - 1]

    @property
    def kernel(self) -> np.ndarray:
        """The first Conv2D layer's kernel, (3, 3, 1, 32)."""
        return self.layers[self.conv_index(1)].weights[0]

    @property
    def bias(self) -> np.ndarray:
        """The first Conv2D layer's bias, (32,)."""
        return self.layers[self.conv_index(1)].weights[1]

    def sample_batch(self) -> np.ndarray:
        """The lesson's input: training image 0 as a (1, 28, 28, 1) batch scaled to 0-1."""
        return (self.train_image.reshape(1, 28, 28, 1) / 255.0).astype(np.float32)

    def stage_outputs(self, batch: np.ndarray) -> list[np.ndarray]:
        """The output of every layer of the CNN on ``batch`` (inference: dropout passes through)."""
        outputs = []
        x = np.asarray(batch, dtype=np.float64)
        for layer in self.layers:
            x = layer_output(layer, x)
            outputs.append(x)
        return outputs

    def feature_maps(self, conv_number: int, batch: np.ndarray | None = None) -> np.ndarray:
        """Output of the ``conv_number``-th Conv2D layer (1-based) on ``batch`` (default: the lesson's sample)."""
        batch = self.sample_batch() if batch is None else batch
        return self.stage_outputs(batch)[self.conv_index(conv_number)]


def layer_output(layer: LayerWeights, x: np.ndarray) -> np.ndarray:
    """One layer of the CNN on ``x``, as Keras computes it at inference."""
    if layer.class_name == "Conv2D":
        x = conv_output(x, *layer.weights)
    elif layer.class_name == "MaxPooling2D":
        return max_pool(x)
    elif layer.class_name == "Flatten":
        return x.reshape(x.shape[0], -1)
    elif layer.class_name == "Dense":
        x = x @ layer.weights[0].astype(np.float64) + layer.weights[1]
    elif layer.class_name == "Dropout":
        return x
    return ACTIVATIONS[layer.activation](x)


def conv_output(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A Conv2D layer with 'same' padding and stride 1, before its activation."""
    kh, kw = kernel.shape[:2]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    windows = sliding_window_view(padded, (kh, kw), axis=(1, 2))  # (N, H, W, C, kh, kw)
    return np.einsum("nhwcij,ijcf->nhwf", windows, kernel.astype(np.float64), optimize=True) + bias


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


def _compute(checkpoint: Path) -> References:
    import keras

    from cnnviz.course.data import train_image_zero

    with preserved_random_state():
        model = keras.models.load_model(checkpoint, compile=False)
    layers = []
    for layer in model.layers:
        name = type(layer).__name__
        activation = getattr(getattr(layer, "activation", None), "__name__", "")
        supported = {"Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout"}
        if (name not in supported or (activation and activation not in ACTIVATIONS)
                or (name == "Conv2D" and (layer.padding != "same" or tuple(layer.strides) != (1, 1)))
                or (name == "MaxPooling2D" and tuple(layer.pool_size) != (2, 2))):
            raise CourseError(f"{checkpoint}: layer {layer.name} ({name}) is not of the lesson's CNN "
                              "(chapter 8-2's architecture); retrain it with `python -m cnnviz train`")
        weights = tuple(keras.ops.convert_to_numpy(w) for w in layer.weights)
        layers.append(LayerWeights(name, activation, weights))
    return References(
        layers=tuple(layers),
        weights_digest=facts.weights_digest([keras.ops.convert_to_numpy(w) for w in model.weights]),
        train_image=train_image_zero(),
    )


def _save(refs: References, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"train_image": refs.train_image}
    for i, layer in enumerate(refs.layers):
        for j, weight in enumerate(layer.weights):
            arrays[f"w{i}_{j}"] = weight
    meta = np.array([str(CACHE_VERSION), refs.weights_digest,
                     *(f"{layer.class_name}:{layer.activation}:{len(layer.weights)}" for layer in refs.layers)])
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
            layers = []
            for i, entry in enumerate(meta[2:]):
                name, activation, count = entry.split(":")
                layers.append(LayerWeights(name, activation, tuple(archive[f"w{i}_{j}"] for j in range(int(count)))))
            return References(layers=tuple(layers), weights_digest=meta[1], train_image=archive["train_image"])
    except (OSError, KeyError, ValueError, IndexError):
        return None  # absent or damaged: computed again


@lru_cache(maxsize=4)
def _references(checkpoint: str, digest: str) -> References:
    cached = settings.cache_dir() / f"references-{digest[:32]}.npz"
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
