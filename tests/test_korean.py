"""The Korean a student reads, checked mechanically (issue 11, item 4), and cnnviz.korean's particles.

Over every message the checks, the lesson's steps and the grader can show,
and every markdown cell of the source notebook, the Korean half must

- hold no Latin-letter word outside backticks (code in backticks, such as
  `model` or `Conv2D`, is fine; the axis names x and y before 축 are how
  Korean writes them);
- attach particles to their word: "`model`에", not "`model` 에";
- choose each particle by the word's last sound, never "이(가)" or "을(를)".

Messages are gathered two ways: the string literals of the modules that word
messages (the checks, the lesson's steps and its runtime, grading/trusted.py;
read with ``ast``, so a new message is covered the day it is written), and
failures triggered with found values that are English words (a padding, an
activation, an axis label), which literals alone cannot show.
"""

from __future__ import annotations

import ast
import re

import nbformat
import numpy as np
import pytest

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT, checks, figure_checks, keras_checks, korean, lesson
from cnnviz import lesson_steps, message_layout
from cnnviz.grading import reference, trusted
from cnnviz.facts import Axes, Figure, Histogram, Image, Layer, Missing, Model, Value

SOURCE_DIR = COURSE_ROOT / "source" / ASSIGNMENT
SOURCE_NB = SOURCE_DIR / f"{ASSIGNMENT}.ipynb"
MODULES = [COURSE_ROOT / "cnnviz" / name for name in (
    "checks.py", "figure_checks.py", "keras_checks.py", "carry_forward.py", "lesson_steps.py", "lesson.py",
    "grading/trusted.py")]

HANGUL = re.compile("[\uac00-\ud7a3]")
# Stand-ins: a backticked span (code) and an interpolated value of an f-string.
CODE, SLOT = "\u00a7", "\u25c7"
# Particles that never stand alone as a word, so "word 를" is always a spacing mistake.
COMPOUNDS = "에는|에서는|에도|에서도|으로는|로는|와는|과는|까지|부터|이라는|라는"  # particles joined together
PARTICLES = f"{COMPOUNDS}|을|를|은|는|이|가|에|에서|에게|의|와|과|으로|로|도|만|처럼|보다|이나|나"
AFTER_WORD = f"{COMPOUNDS}|을|를|은|는|에|에서|에게|와|과|으로|로|처럼|보다"  # "이"/"가"/"의"/"도" can start a word
SPACED_AFTER_CODE = re.compile(rf"[{CODE}{SLOT}] ({PARTICLES})(?=[\s.,;:!?)\]]|$)")
# After a Korean word, a closing bracket, or a Latin acronym or a number Korean text keeps ("API", "32").
SPACED_AFTER_WORD = re.compile(rf"[\uac00-\ud7a3)A-Za-z0-9] ({AFTER_WORD})(?=[\s.,;:!?)\]]|$)")
# Counters and ordinals are bound to their number, written or in code: "`i`행 `j`열", "`k`번째".
SPACED_COUNTER = re.compile(rf"[{CODE}{SLOT}0-9] (번째|행|열)(?=[\s.,;:!?)\]에의을를]|$)")
DOUBLE_PARTICLE = re.compile(r"\((이|가|을|를|은|는|과|와|으|이라|라)\)")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_+\-'.]*")
# Acronyms Korean technical writing uses as they are: the data set's name, and the terms
# "함수형 API" and "합성곱 신경망(CNN)" as the course book writes them.
ALLOWED_WORDS = {"MNIST", "API", "CNN"}


def problems(text: str) -> list[str]:
    """What is wrong with the Korean half of one text ("Korean / English", or Korean alone), one line each."""
    text = re.sub(r"`[^`]*`", CODE, text)  # code first: a " / " inside backticks or a formula splits nothing
    text = re.sub(r"\$[^$]*\$", CODE, text)  # a formula in a markdown cell
    text, _, english = text.partition(" / ")
    found = [f"Hangul in the English half: {english[:60]!r}"] if HANGUL.search(english) else []
    text = text.replace("**", "").replace("*", "")
    text = re.sub(r"\b[xy]축", "축", text)
    for word in LATIN_WORD.findall(text):
        if word.rstrip(".") not in ALLOWED_WORDS:
            found.append(f"English word {word!r} outside backticks")
    for match in SPACED_AFTER_CODE.finditer(text):
        found.append(f"space before the particle {match.group(1)!r}")
    for match in SPACED_AFTER_WORD.finditer(text):
        found.append(f"space before the particle {match.group(1)!r}")
    for match in SPACED_COUNTER.finditer(text):
        found.append(f"space before the counter {match.group(1)!r}")
    for match in DOUBLE_PARTICLE.finditer(text):
        found.append(f"double particle {match.group(0)!r}")
    return found


def report(texts) -> str:
    lines = []
    for where, text in texts:
        for problem in problems(text):
            lines.append(f"{where}: {problem}: {text[:200]!r}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- particles (cnnviz.korean)


@pytest.mark.parametrize("word, pair, expected", [
    ("가중치", "을/를", "가중치를"),
    ("커널", "을/를", "커널을"),
    ("모델", "이/가", "모델이"),
    ("배열", "과/와", "배열과"),
    ("이미지", "과/와", "이미지와"),
    ("층", "은/는", "층은"),
    ("값", "은/는", "값은"),
    ("모델", "으로/로", "모델로"),  # a final ㄹ takes 로
    ("배치", "으로/로", "배치로"),
    ("층", "으로/로", "층으로"),
    ("1", "이/가", "1이"),  # 일
    ("2", "이/가", "2가"),  # 이
    ("3", "을/를", "3을"),  # 삼
    ("7", "으로/로", "7로"),  # 칠
    ("6", "으로/로", "6으로"),  # 육
    ("훈련 이미지 ", "과/와", "훈련 이미지와"),  # attached to the word, past trailing spaces
])
def test_particle_follows_the_last_sound(word, pair, expected):
    assert korean.particle(word, pair) == expected


def test_particle_of_an_empty_word_does_not_raise():
    assert korean.particle("", "이/가") == "가"


# --------------------------------------------------------------------------- the checker itself


@pytest.mark.parametrize("text", [
    "`model`에 담으세요.",
    "가중치(커널)를 숫자로 봅니다.",
    "`conv_weights` 배열의 값이 맞지 않습니다(지금은 `(3, 3)`).",
    "x축 이름이 설명과 다릅니다.",
    "패션 MNIST 데이터를 불러옵니다.",
    "`i`행 `j`열에 `i * 8 + j`번째 맵을 그립니다.",
    "`weights` 행렬이 아니라 배열입니다.",
    "이 단계는 그 값이 없거나 쓸 수 없어 확인할 수 없습니다.",
    "$\\pm\\sqrt{6 / (\\text{fan\\_in})}$ 사이의 값",
    "`# 여기에 코드를 작성하세요. / YOUR CODE HERE`가 있는 셀만 채우세요.",
    "값이 틀렸습니다. / the value is wrong.",
])
def test_good_korean_passes_the_checker(text):
    assert problems(text) == []


@pytest.mark.parametrize("text, problem", [
    ("`model` 에 담으세요.", "space before the particle '에'"),
    ("**`model`** 에 담으세요.", "space before the particle '에'"),
    ("**가중치(커널)** 를 봅니다.", "space before the particle '를'"),
    ("모델 을 만드세요.", "space before the particle '을'"),
    ("`best-cnn-model.keras` 에는 모델이 있습니다.", "space before the particle '에는'"),
    ("**함수형 API** 에서는 층을 함수처럼 부릅니다.", "space before the particle '에서는'"),
    ("`i` 행 `j` 열에 그리세요.", "space before the counter '행'"),
    ("`i * 16 + j` 번째 커널", "space before the counter '번째'"),
    ("`conv`이(가) 필요합니다.", "double particle '(가)'"),
    ("값을(를) 확인하세요.", "double particle '(를)'"),
    ("기대한 값(the Glorot-uniform bound)과 다릅니다.", "English word 'the'"),
    ("지금은 valid입니다.", "English word 'valid'"),
    ("편향(bias)을 봅니다.", "English word 'bias'"),
    ("값이 틀렸습니다. / 값 is wrong.", "Hangul in the English half"),
])
def test_bad_korean_is_caught_by_the_checker(text, problem):
    assert any(found.startswith(problem) for found in problems(text)), problems(text)


# --------------------------------------------------------------------------- messages: string literals


def _is_docstring(node, parents) -> bool:
    parent = parents.get(node)
    return isinstance(parent, ast.Expr)


def _literal_texts(path) -> list[tuple[str, str]]:
    """Every string literal or f-string of a module that holds Hangul, docstrings and comments aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    inside_fstring = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else SLOT for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstring:
            text = node.value
        else:
            continue
        if HANGUL.search(text) and not _is_docstring(node, parents):
            texts.append((f"{path.name}:{node.lineno}", text))
    return texts


def test_the_modules_hold_korean_messages_to_check():
    texts = [t for path in MODULES for t in _literal_texts(path)]
    assert len(texts) > 80  # every fail() call has a Korean literal; an empty scan would prove nothing


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_korean_of_every_message_literal(path):
    texts = _literal_texts(path)
    assert report(texts) == ""


# --------------------------------------------------------------------------- messages: triggered failures


def _message(func, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        func(*args, **kwargs)
    return str(info.value)


def _conv(**settings) -> Layer:
    base = {"filters": 32, "kernel_size": (3, 3), "activation": "relu", "padding": "same"}
    base.update(settings)
    return Layer(class_name="Conv2D", is_conv2d=True, built=True, weights=[np.zeros((3, 3, 1, 32)), np.zeros(32)],
                 **base)


def _triggered() -> list[tuple[str, str]]:
    """Failures whose messages carry found values that are English words or shapes with None."""
    want = {"filters": 32, "kernel_size": (3, 3), "activation": "relu", "padding": "same"}
    messages = []
    for setting, value in (("filters", 16), ("kernel_size", (5, 5)), ("activation", "linear"), ("padding", "valid")):
        messages.append(_message(keras_checks.assert_conv_settings, _conv(**{setting: value}), "no_training_conv",
                                 **want))
    dense = Model(class_name="Functional", is_sequential=False, input_shapes=[(None, 28, 28)],
                  output_shapes=[(None, 10)],
                  layers=[Layer(class_name="Dense", is_conv2d=False, built=True, units=100, activation="relu"),
                          Layer(class_name="Dense", is_conv2d=False, built=True, units=7, activation="softmax")])
    dense_layers = [(100, "sigmoid"), (10, "softmax")]
    messages.append(_message(keras_checks.assert_dense_stack, dense, "dense_model", dense_layers))
    dense.layers[0].activation = "sigmoid"
    messages.append(_message(keras_checks.assert_dense_stack, dense, "dense_model", dense_layers))
    messages.append(_message(keras_checks.assert_io_shapes, dense, "dense_model", (None, 784), (None, 10)))
    messages.append(_message(checks.assert_shape, Value(type_name="tuple", shape=(None, 3)), (3, 3, 1, 32),
                             "kernel_shape", "확인하세요.", "Check it."))
    messages.append(_message(checks.assert_rank, Value(type_name="tuple", shape=(None,)), 4, "kernel_shape"))
    for value in (Missing(), Value(type_name="str"), Figure(), _conv(), dense):
        messages.append(_message(checks.number, value, "conv_mean"))
        if not isinstance(value, Figure):
            messages.append(_message(figure_checks.figure, value, "hist_fig"))
        messages.append(_message(checks.boolean, value, "within_limit"))
    edges = np.linspace(-1, 1, 9)
    hist = Histogram(edges=edges, counts=np.full(8, 36.0))
    data = np.repeat((edges[1:] + edges[:-1]) / 2, 36)  # 288 values that these bars count right
    labelled = Figure(axes=[Axes(box=(0, 0, 1, 1), grid=(0, 1, 1, 0, 0), axis_on=True, histograms=[hist],
                                 xlabel="weights", ylabel="frequency")])
    for label in ("xlabel", "ylabel"):
        messages.append(_message(figure_checks.assert_histogram, labelled, data,
                                 "hist_fig", source_ko="`conv_weights` 배열", source_en="conv_weights",
                                 **{label: "weight" if label == "xlabel" else "count"}))
    panel = Image(array=np.ones((3, 3)), clim=(1.0, 1.0), cmap="viridis")
    grid = Figure(axes=[Axes(box=(0, 0, 1, 1), grid=(0, 1, 1, 0, 0), axis_on=False, images=[panel])])
    messages.append(_message(figure_checks.assert_image_grid, grid, "sample_fig", [np.ones((3, 3))], 1, 1,
                             source_ko="첫 번째 훈련 이미지", source_en="the first image", cmap="gray_r"))
    return [(f"triggered {k}", m) for k, m in enumerate(messages)]


def test_korean_of_messages_that_show_found_values():
    assert report(_triggered()) == ""


@pytest.fixture(scope="module")
def refs():
    return reference.for_checkpoint(SOURCE_DIR / CHECKPOINT_NAME)


JUNK = [Missing(), Value(type_name="str"), Value(type_name="tuple", shape=(None, 5)), Figure(),
        Layer(class_name="Dense", is_conv2d=False, built=True, units=3, activation="relu"),
        Layer(class_name="Conv2D", is_conv2d=True, built=False, filters=8, kernel_size=(5, 5), activation="linear",
              padding="valid"),
        Model(class_name="Sequential", is_sequential=True, input_shapes=[(None, 28, 28, 1)],
              output_shapes=[(None, 26, 26, 8)], probe_output=np.zeros((1, 26, 26, 8)))]


@pytest.fixture(scope="module")
def junk_verdicts(refs) -> list[tuple[str, lesson.Verdict]]:
    """Every step graded with each wrong kind of value in all of its variables."""
    return [(grade_id, lesson.grade(grade_id, {name: junk for name in step.names}, refs, {}))
            for grade_id, step in lesson_steps.STEPS.items() for junk in JUNK]


def test_korean_of_every_step_failing_on_wrong_kinds_of_values(junk_verdicts):
    assert all(not verdict.passed for _, verdict in junk_verdicts)
    texts = [(grade_id, verdict.message) for grade_id, verdict in junk_verdicts]
    assert len({text for _, text in texts}) > 10
    assert report(texts) == ""


def test_every_message_fits_one_screen_of_the_validate_dialog(junk_verdicts):
    """Validate shows a message in a box that never wraps: the message's own lines must fit it."""
    texts = [message for _, message in _triggered()] + [verdict.message for _, verdict in junk_verdicts]
    too_long = []
    for text in texts:
        lines = message_layout.text_screen_lines(text, prefix="AssertionError: ")
        wide = [line for line in lines
                if message_layout.screen_columns(line) > message_layout.SCREEN_COLUMNS and " " in line]
        if len(lines) > 10 or wide:
            too_long.append(text)
    assert not too_long, "messages longer than a screen:\n" + "\n".join(too_long)


def test_korean_of_the_graders_own_messages():
    assert report([("NO_FACTS", message_layout.render(*trusted.NO_FACTS))]) == ""
    crashed = lesson.grade("test_load_model", {"model": Model(class_name="Functional", is_sequential=False)}, None, {})
    assert crashed.crashed and report([("crashed", crashed.message)]) == ""


# --------------------------------------------------------------------------- the notebook


def _markdown_lines() -> list[tuple[str, str]]:
    nb = nbformat.read(SOURCE_NB, as_version=4)
    lines = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.split("\n"):
            if HANGUL.search(line):
                lines.append((f"markdown cell {index}", line))
    return lines


def test_the_notebook_has_korean_markdown_to_check():
    assert len(_markdown_lines()) > 20


def test_korean_of_every_markdown_cell_of_the_notebook():
    assert report(_markdown_lines()) == ""
