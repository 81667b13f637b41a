"""Finding student code that changes the grading environment instead of answering.

The hidden tests run in the student's kernel, so code in an answer cell could
replace what they rely on: the course's check functions, ``numpy.allclose``,
Keras' loaders, IPython's error reporting. Nothing in this lesson needs that,
so the autograder reads every cell the student wrote (the syntax tree, not the
text) and a submission that does any of it gets no automatic points and is
left for an instructor to review. The file system side is covered by the
sandbox (``cnnviz.sandbox``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# Modules whose mere use means reaching into the grader or the interpreter.
FORBIDDEN_MODULES = {"cnnviz", "nbgrader", "builtins", "importlib", "ctypes", "gc", "inspect", "IPython"}
# Built-in functions that run or rebind code by name.
FORBIDDEN_CALLS = {"exec", "eval", "compile", "__import__", "setattr", "delattr", "get_ipython",
                   "globals", "vars"}
FORBIDDEN_NAMES = {"__builtins__", "get_ipython"}
# Dunder attributes that only describe things; any other (__dict__, __code__,
# __class__, __globals__, ...) is a way around the rules above.
HARMLESS_DUNDERS = {"__name__", "__qualname__", "__doc__", "__version__", "__init__", "__len__"}


@dataclass(frozen=True)
class Finding:
    """One place where a cell reaches into the grading environment."""

    cell: int  # 1-based position among the notebook's code cells
    line: int
    code: str
    why: str

    def describe(self) -> str:
        return f"code cell {self.cell}, line {self.line}: `{self.code}` ({self.why})"


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    return None


def _is_settings_table(node) -> bool:
    # plt.rcParams[...] = ... and os.environ[...] = ... are ordinary settings.
    return isinstance(node, ast.Attribute) and node.attr in {"rcParams", "environ"}


def _imported_names(trees) -> set[str]:
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.update(a.asname or a.name for a in node.names)
    return names


def _findings_in(tree, modules: set[str]):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    yield node, f"imports {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                yield node, f"imports from {node.module}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            yield node, f"calls {node.func.id}()"
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES | FORBIDDEN_MODULES:
            yield node, f"uses {node.id}"
        elif (isinstance(node, ast.Attribute) and node.attr.startswith("__") and node.attr.endswith("__")
              and node.attr not in HARMLESS_DUNDERS):
            yield node, f"reaches into {node.attr}"
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                root = _root_name(target)
                if isinstance(target, ast.Attribute) and (root is None or root in modules):
                    yield node, "replaces an attribute of a module or class"
                elif (isinstance(target, ast.Subscript) and root in modules
                      and not _is_settings_table(target.value)):
                    yield node, "changes a module's table"


def find_tampering(cells: list[str], written_by_student: list[bool] | None = None) -> list[Finding]:
    """Findings in the notebook's code cells (sources in notebook order).

    Only cells ``written_by_student`` are reported (default: all); every cell
    counts for knowing which names are imported modules.
    """
    written_by_student = written_by_student or [True] * len(cells)
    trees = []
    for source in cells:
        try:
            trees.append(ast.parse(source))
        except SyntaxError:
            trees.append(ast.Module(body=[], type_ignores=[]))  # a syntax error fails on its own
    modules = _imported_names(trees)
    findings = []
    for number, (source, tree, reported) in enumerate(zip(cells, trees, written_by_student), start=1):
        if not reported:
            continue
        lines = source.splitlines()
        for node, why in _findings_in(tree, modules):
            line = getattr(node, "lineno", 1)
            code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            findings.append(Finding(number, line, code[:80], why))
    unique = {}
    for finding in findings:
        unique.setdefault((finding.cell, finding.line), finding)
    return sorted(unique.values(), key=lambda f: (f.cell, f.line))


def message(findings: list[Finding]) -> str:
    """The bilingual message a flagged submission gets in every graded cell."""
    where = "; ".join(f.describe() for f in findings[:3])
    more = f" (+{len(findings) - 3} more)" if len(findings) > 3 else ""
    return (
        f"이 제출물은 채점 환경을 바꾸는 코드를 포함하므로 자동 점수를 받지 않으며, 강사가 직접 검토합니다: "
        f"{where}{more}. / This submission changes the grading environment, so it gets no automatic "
        f"points and an instructor will review it: {where}{more}."
    )
