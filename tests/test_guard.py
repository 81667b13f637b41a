"""cnnviz.guard: which student code counts as changing the grading environment."""

import pytest

from cnnviz import guard

SETUP = "import os\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport keras"


def flagged(*student_cells):
    return guard.find_tampering([SETUP, *student_cells], [False] + [True] * len(student_cells))


@pytest.mark.parametrize("code", [
    "np.allclose = lambda *a, **k: True",
    "keras.models.load_model = lambda *a, **k: model",
    "from cnnviz import checks\nchecks.assert_histogram = print",
    "import cnnviz.checks",
    "get_ipython().showtraceback = print",
    "import builtins\nbuiltins.isinstance = lambda *a: True",
    "__builtins__.len = lambda x: 0",
    "type(ax).get_images = lambda self: []",
    "import sys\nsys.modules['cnnviz.checks'] = None",
    "np.__dict__['allclose'] = 1",
    "exec('np.allclose = None')",
    "setattr(np, 'allclose', None)",
    "import importlib",
    "f.__code__ = g.__code__",
], ids=lambda code: code.splitlines()[-1][:40])
def test_code_that_reaches_into_the_grader_is_flagged(code):
    findings = flagged(code)
    assert findings, f"not flagged: {code!r}"
    assert findings[0].cell == 2, "the finding should point at the student's cell"


@pytest.mark.parametrize("code", [
    "model = keras.models.load_model('best-cnn-model.keras')\nmodel.layers",
    "conv_weights = conv.kernel.numpy()\nconv_std = np.std(conv_weights)",
    "plt.rcParams['figure.figsize'] = (15, 2)",
    "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'",
    "fig = plt.figure(figsize=(15, 2))\nax = fig.add_subplot(2, 16, 1)\nax.axis('off')",
    "sample_batch = keras.ops.expand_dims(train_input[0], (0, -1)) / 255",
    "model.trainable = False\nlayer.name",
    "for k, ax in enumerate(axs.flat):\n    ax.imshow(w[:, :, 0, k], vmin=-0.5, vmax=0.5)",
    "this is not python",
    "print(type(error).__name__, keras.__version__)",
])
def test_ordinary_answers_are_not_flagged(code):
    assert flagged(code) == [], f"an honest answer was flagged: {code!r}"


def test_the_instructors_locked_cells_are_not_reported():
    assert guard.find_tampering(["import cnnviz\nchecks.require(globals(), 'x')"], [False]) == []


def test_the_message_names_the_cell_and_line_in_both_languages():
    text = guard.message(flagged("x = 1\nnp.allclose = None"))
    assert "code cell 2, line 2" in text and "np.allclose = None" in text
    assert " / " in text and any("\uac00" <= ch <= "\ud7a3" for ch in text.split(" / ")[0])
