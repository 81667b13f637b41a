"""cnnviz.grading.guard: which lines of a student's code are flagged for an instructor's review."""

import pytest

from cnnviz.grading import guard

SETUP = "import os\nimport numpy as np\nimport matplotlib.pyplot as plt\nimport keras"


def flagged(*student_cells):
    return guard.find_flagged_lines([SETUP, *student_cells], [False] + [True] * len(student_cells))


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
    # The attacks of issue 9.
    "import sys\nip = sys.modules['IPython'].get_ipython()\nip.input_transformers_post.append(lambda lines: [])",
    "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))",
    "run = exec\nrun('x = 1')",
    "m = __import__('importlib').import_module('cnnviz.checks')\nm.x = 1",
    "import sys\nclass A(np.ndarray):\n    def __eq__(self, other):\n        return sys._getframe(1).f_locals",
    "os.system('umount /work')",
    "open('/proc/1/root/etc/shadow').read()",
    "pid = os.fork()",
    "print(os.environ['NBGRADER_DB_URL'])",
    "secret = os.getenv('NBGRADER_DB_URL')",
    "import socket\nsocket.create_connection(('127.0.0.1', 5432))",
    "print(In)",
    "!git show HEAD:source/cnn_visualization/cnn_visualization.ipynb",
    "%%bash\nkill -9 -1",
    "%run /tmp/attack.py",
    "os.chdir('/tmp/mine')",
    "%%time\nimport subprocess",
    "%time exec('1')",
], ids=lambda code: code.splitlines()[-1][:40])
def test_code_that_reaches_for_the_grader_is_flagged(code):
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
    # The false positives of issue 9.
    "from IPython.display import display\ndisplay(fig)",
    "inspect = conv.kernel.numpy()\nprint(inspect.shape)",
    "print(conv.__class__.__name__)",
    "%matplotlib inline",
    "!ls",
    "%time feature_maps = conv_acti.predict(sample_batch)",
    "%%time\nfeature_maps = conv_acti.predict(sample_batch)",
    "for _ in range(3):\n    print(_)",
])
def test_ordinary_answers_are_not_flagged(code):
    assert flagged(code) == [], f"an honest answer was flagged: {code!r}"


@pytest.mark.parametrize("code, line", [
    ("%matplotlib inline\nnp.allclose = lambda *a, **k: True", 2),
    ("!ls\nprint(In)", 2),
    ("%%time\nx = 1\nexec('y = 2')", 3),
])
def test_a_magic_line_does_not_hide_the_rest_of_its_cell(code, line):
    findings = flagged(code)
    assert [f.line for f in findings] == [line], findings


def test_the_instructors_locked_cells_are_not_reported():
    assert guard.find_flagged_lines(["import cnnviz\nchecks.require(globals(), 'x')"], [False]) == []


def test_the_message_names_the_cell_and_line_in_both_languages_and_says_no_score_changes():
    text = guard.message(flagged("x = 1\nnp.allclose = None"))
    korean, english = text.split(" / ")
    assert "코드 셀 2의 2번째 줄 `np.allclose = None`" in korean
    assert "code cell 2, line 2: `np.allclose = None`" in english and "changes no score" in english
    assert not any(word in korean for word in ("code cell", "line", "replaces")), korean
