"""Plain facts about a student's values: the records the checks read, in the kernel and in the grader.

The grader never trusts an object from the student's kernel. Inside the
kernel each test cell reduces the variables it checks to *facts*: numbers,
strings, NumPy arrays and small records of them (a figure's axes, images and
histogram bars; a Keras layer's class, settings and weights; a model's
layers, shapes and its output on a fixed probe input). During grading those
facts leave the kernel as one display output, are decoded in the grader's own
process with ``np.load(allow_pickle=False)`` and strict type checks, and the
score-bearing checks (``cnnviz.lesson_steps``) run there. A kernel that lies about
its facts can only claim values it would have had to compute anyway.

The same records are what the checks read in the student's own kernel
(Validate), so there is one set of checks for both places. Three modules,
one concern each:

- this one: the records, the limits both sides hold them to, and what the
  kernel and the grader must compute alike (the probe input, the weights' digest);
- ``cnnviz.introspect``: live objects (arrays, tensors, figures, Keras layers
  and models) read into records, in the kernel;
- ``cnnviz.fact_codec``: records to text and back; the grader's side decodes
  plain data only and imports nothing that reads or runs a live object.
"""

from __future__ import annotations

import hashlib
import typing
from dataclasses import dataclass, field

import numpy as np

# Limits on what the kernel sends and the grader accepts: a lesson's values are far below them.
MAX_ARRAY_ELEMENTS = 2_000_000
MAX_TEXT = 300
MAX_ITEMS = 512

# A fixed input for models that take 28 x 28 images: their output on it tells
# which layer of the CNN a model ends at, with no dataset involved.
PROBE_SEED = 20260829


def probe_input() -> np.ndarray:
    """The fixed (1, 28, 28, 1) float32 input on which image models are run."""
    return np.random.default_rng(PROBE_SEED).random((1, 28, 28, 1), dtype=np.float32)


# --------------------------------------------------------------------------- records


@dataclass
class Missing:
    """The variable is not defined in the notebook."""


@dataclass
class Value:
    """Any value that is not a figure, a layer or a model."""

    type_name: str
    is_numpy: bool = False  # a NumPy ndarray (not a tensor, a variable or a list)
    is_bool: bool = False  # a Python or NumPy boolean
    array: np.ndarray | None = None  # its numbers, when it holds numbers
    shape: tuple | None = None  # when it is a shape: a tuple, list or TensorShape of sizes


@dataclass
class Image:
    """One ``imshow`` image on an axes."""

    array: np.ndarray
    clim: tuple  # (vmin, vmax) of its colour scale
    cmap: str


@dataclass
class Histogram:
    """One histogram drawn on an axes: bin edges and bar heights."""

    edges: np.ndarray
    counts: np.ndarray


@dataclass
class Axes:
    """One axes of a figure."""

    box: tuple  # (x0, y0, x1, y1) in figure coordinates
    grid: tuple | None  # (gridspec number, rows, columns, row, column) for a subplot
    axis_on: bool
    images: list[Image] = field(default_factory=list)
    histograms: list[Histogram] = field(default_factory=list)
    xlabel: str = ""
    ylabel: str = ""


@dataclass
class Figure:
    """A matplotlib figure."""

    axes: list[Axes] = field(default_factory=list)


@dataclass
class Layer:
    """A Keras layer."""

    class_name: str
    is_conv2d: bool
    built: bool
    filters: int | None = None
    kernel_size: tuple | None = None
    activation: str | None = None
    padding: str | None = None
    units: int | None = None
    weights: list[np.ndarray] = field(default_factory=list)
    weights_digest: str = ""  # see weights_digest(); a model's layers carry it instead of their weights


@dataclass
class Model:
    """A Keras model."""

    class_name: str
    is_sequential: bool
    layers: list[Layer] = field(default_factory=list)  # settings only, no weights
    input_shapes: list[tuple] | None = None  # None: inputs not defined yet
    output_shapes: list[tuple] | None = None
    weights_digest: str = ""  # see weights_digest()
    is_model_variable: bool = False  # the very object named `model` in the notebook
    shares_layers: list[int] = field(default_factory=list)  # `model.layers[i]` whose weights it reuses
    probe_output: np.ndarray | None = None  # its output on probe_input(), for image models


Fact = typing.Union[Missing, Value, Figure, Layer, Model]
RECORDS = {cls.__name__: cls for cls in (Missing, Value, Image, Histogram, Axes, Figure, Layer, Model)}


def weights_digest(arrays) -> str:
    """A digest of a list of weight arrays (their float32 values and shapes), the same in the kernel and the grader."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
