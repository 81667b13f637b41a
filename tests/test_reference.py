"""The grader's references (cnnviz/grading/reference.py): recomputed from the checkpoint with NumPy.

The hidden checks compare the student's values with these, so they must be
exactly what Keras computes from the same checkpoint, and a damaged cache must
never stand in for them.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT, CourseError
from cnnviz.grading import reference

CHECKPOINT = COURSE_ROOT / "source" / ASSIGNMENT / CHECKPOINT_NAME


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE", str(tmp_path))
    reference._references.cache_clear()
    yield tmp_path
    reference._references.cache_clear()


def test_numpys_forward_pass_is_keras_on_the_checkpoint(fresh_cache):
    import keras

    refs = reference.for_checkpoint(CHECKPOINT)
    model = keras.models.load_model(CHECKPOINT)
    batch = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    for number, layer in enumerate(convs, start=1):
        keras_maps = np.asarray(keras.Model(model.inputs, layer.output)(batch))
        assert np.allclose(refs.feature_maps(number, batch), keras_maps, atol=1e-4), \
            f"feature maps of Conv2D {number} differ from Keras' on the same checkpoint"
    assert np.allclose(refs.stage_outputs(batch)[-1], np.asarray(model(batch)), atol=1e-5), "the model's output"


def test_a_damaged_cache_is_computed_again(fresh_cache):
    first = reference.for_checkpoint(CHECKPOINT)
    (cached,) = fresh_cache.glob("references-*.npz")
    cached.write_bytes(b"not an archive")
    reference._references.cache_clear()
    again = reference.for_checkpoint(CHECKPOINT)
    assert again.weights_digest == first.weights_digest
    assert np.array_equal(again.kernel, first.kernel)


def test_a_missing_checkpoint_is_one_message_naming_where_it_is_read(tmp_path):
    with pytest.raises(CourseError, match=f"no checkpoint at .*{CHECKPOINT_NAME}") as caught:
        reference.for_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert "\n" not in str(caught.value)
