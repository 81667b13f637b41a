"""Reference values for the hidden tests, recomputed from files, never from the student's objects.

Everything here starts again from the checkpoint file on disk and from the
Fashion-MNIST files in Keras' cache, so a student who changed ``model``,
``conv_weights`` or ``train_input`` in the notebook cannot change what the
tests compare against. Nothing expected is stored: an instructor who retrains
or replaces the checkpoint gets tests that follow it.
"""

from __future__ import annotations

import hashlib
import random
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import CHECKPOINT_NAME

# The notebook loads the checkpoint by this relative name from its own folder.
CHECKPOINT = CHECKPOINT_NAME


def _file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@contextmanager
def preserved_random_state():
    """Run a block without moving Python's, NumPy's or Keras' global random state.

    Loading a model draws initial weights from Keras' global seed generator.
    Without this, a hidden test that loads the checkpoint would change the
    "untrained" weights that the student's next cells draw.
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


@lru_cache(maxsize=4)
def _load_model_by_digest(path: str, digest: str):
    # The digest is part of the cache key, so a checkpoint replaced on disk is loaded again.
    import keras

    with preserved_random_state():
        return keras.models.load_model(path)


def checkpoint_model(path: str | Path = CHECKPOINT):
    """A model loaded from ``path`` by the tests themselves (cached per file content)."""
    path = str(Path(path).resolve())
    return _load_model_by_digest(path, _file_digest(path))


def conv_layers(model) -> list:
    """The model's Conv2D layers, in order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def first_conv_kernel(path: str | Path = CHECKPOINT) -> np.ndarray:
    """Kernel of the checkpoint's first Conv2D layer, shape (3, 3, 1, 32)."""
    return conv_layers(checkpoint_model(path))[0].kernel.numpy().copy()


def first_conv_bias(path: str | Path = CHECKPOINT) -> np.ndarray:
    """Bias of the checkpoint's first Conv2D layer, shape (32,)."""
    return conv_layers(checkpoint_model(path))[0].bias.numpy().copy()


def kernel_panels(kernel: np.ndarray, channel: int = 0) -> list[np.ndarray]:
    """The 2-D kernels of one input channel, one per filter, in filter order."""
    return [kernel[:, :, channel, i] for i in range(kernel.shape[-1])]


def map_panels(maps: np.ndarray) -> list[np.ndarray]:
    """The 2-D feature maps of the first sample, one per channel, in channel order."""
    return [maps[0, :, :, i] for i in range(maps.shape[-1])]


@lru_cache(maxsize=1)
def _train_images() -> np.ndarray:
    import keras

    (train_input, _), _ = keras.datasets.fashion_mnist.load_data()
    return train_input


def train_image(index: int = 0) -> np.ndarray:
    """One Fashion-MNIST training image as stored (uint8, 28 x 28), read from the data files."""
    return _train_images()[index].copy()


def sample_batch(index: int = 0) -> np.ndarray:
    """The lesson's input: one training image as a batch of shape (1, 28, 28, 1), pixels / 255."""
    return (train_image(index).reshape(1, 28, 28, 1) / 255.0).astype("float32")


def feature_maps(conv_number: int, path: str | Path = CHECKPOINT, index: int = 0) -> np.ndarray:
    """Output of the checkpoint's ``conv_number``-th Conv2D layer (1-based) on the sample."""
    path = str(Path(path).resolve())
    # Three test cells ask for the same maps; computing them once saves a model build and a forward pass each.
    return _feature_maps_by_digest(path, _file_digest(path), conv_number, index).copy()


@lru_cache(maxsize=8)
def _feature_maps_by_digest(path: str, digest: str, conv_number: int, index: int) -> np.ndarray:
    import keras

    model = _load_model_by_digest(path, digest)
    layer = conv_layers(model)[conv_number - 1]
    with preserved_random_state():
        probe = keras.Model(model.inputs, layer.output)
        # A direct call, not predict(): no progress bar and no tf.function retracing warnings.
        return keras.ops.convert_to_numpy(probe([sample_batch(index)], training=False))
