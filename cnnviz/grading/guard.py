"""Flagging student code for an instructor's review: the scan reads, it never scores.

Points come only from the trusted checks outside the kernel, and the jail
(``cnnviz.grading.jail``) keeps student code away from the grader; nothing in this
module can change a score. What it does: read every cell a student wrote
(magic lines included: IPython's own transformer turns ``%matplotlib inline``
or ``!ls`` into Python first, so a magic line neither hides its cell nor is
mistaken for tampering) and name the lines that reach for the grader, the
interpreter or the machine: running code from strings, frames and
``sys.modules``, IPython's history and hooks, processes, sockets, the
environment, paths outside the notebook's folder. ``FlagForReview``
(``cnnviz.grading.flag_for_review``) puts those lines in the formgrader for an
instructor to look at.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# Why a line is flagged: (Korean, English). The Korean half names code only in backticks.
WHY = {
    "import": ("모듈 `{0}` 가져오기", "imports {0}"),
    "call": ("`{0}` 사용", "uses {0}"),
    "history": ("실행 기록 `{0}` 읽기", "reads IPython's history {0}"),
    "ipython": ("`get_ipython()` 직접 사용", "uses get_ipython() directly"),
    "dunder": ("내부 속성 `{0}` 접근", "reaches into {0}"),
    "frame": ("실행 프레임이나 인터프리터 상태 `{0}` 접근", "reaches into frames or interpreter state ({0})"),
    "os": ("운영체제 기능 `os.{0}` 사용", "uses os.{0}"),
    "environ": ("환경 변수 읽기", "reads environment variables"),
    "path": ("노트북 폴더 밖의 경로 `{0}`", "names a path outside the notebook's folder ({0})"),
    "replace": ("모듈이나 클래스의 속성 바꾸기", "replaces an attribute of a module or class"),
    "table": ("모듈의 표 바꾸기", "changes a module's table"),
    "magic": ("매직 명령 `%{0}` 사용", "uses the magic %{0}"),
    "shell": ("셸 명령 `{0}` 실행", "runs the shell command {0}"),
}

# Modules nothing in this lesson needs and that reach into the grader, the interpreter or the machine.
FLAGGED_MODULES = {"cnnviz", "nbgrader", "builtins", "importlib", "ctypes", "gc", "inspect", "IPython",
                   "subprocess", "socket", "multiprocessing", "signal", "pty", "marshal", "pickle", "dill",
                   "cloudpickle", "code", "codeop", "threading", "_thread", "asyncio", "psycopg2", "sqlite3",
                   "sqlalchemy", "jupyter_client", "zmq", "shutil", "resource", "fcntl", "mmap"}
# IPython's display helpers are ordinary notebook code.
ALLOWED_SUBMODULES = {"IPython.display", "IPython.core.display"}
# Built-ins that run or rebind code by name; flagged wherever they are named, so an alias is caught too.
FLAGGED_BUILTINS = {"exec", "eval", "compile", "__import__", "setattr", "delattr", "globals", "vars",
                    "breakpoint", "__builtins__", "__loader__", "__spec__"}
HISTORY = re.compile(r"^(In|Out|_ih|_oh|_dh|_ii|_iii|_i\d+|_\d+)$")
# Dunder attributes that only describe things.
HARMLESS_DUNDERS = {"__name__", "__qualname__", "__doc__", "__version__", "__init__", "__len__", "__file__",
                    "__module__"}
FRAME_ATTRIBUTES = {"f_back", "f_locals", "f_globals", "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next",
                    "gi_frame", "cr_frame", "ag_frame", "_getframe", "settrace", "setprofile", "_current_frames",
                    "meta_path", "path_hooks", "excepthook", "displayhook", "addaudithook", "input_transformers_post",
                    "input_transformers_cleanup", "ast_transformers", "register_magic_function",
                    "set_custom_exc", "showtraceback"}
SYS_TABLES = {"modules", "path", "stdout", "stderr"}
OS_CALLS = {"system", "popen", "fork", "forkpty", "kill", "killpg", "setsid", "setpgid", "symlink", "link",
            "mknod", "mkfifo", "chroot", "chdir", "fchdir", "setuid", "setgid", "getenv", "putenv", "unsetenv",
            "environb", "posix_spawn", "posix_spawnp", "pidfd_open", "unshare", "setns"}
OS_PREFIXES = ("exec", "spawn")
# Strings that name the grader's side of the machine.
OUTSIDE = re.compile(r"/proc\b|/etc/|/root\b|/home/|/dev/shm|gradebook|\.git\b|nbgrader|NBGRADER|"
                     r"connection_file|kernel-\w+\.json|(^|/)\.\./|\bsource/|autograded|submitted/|postgres")
# Magics that run other code, change how cells run or read the environment.
FLAGGED_MAGICS = {"run", "load", "loadpy", "macro", "config", "alias", "writefile", "store", "env", "sx",
                  "system", "debug", "autocall", "autoawait", "script", "bash", "sh", "python", "python3",
                  "perl", "ruby", "js", "javascript", "html", "capture"}
CODE_CELL_MAGICS = {"time", "timeit", "prun", "capture"}  # their body is Python, read like any cell
SHELL_COMMANDS = re.compile(r"\b(git|curl|wget|nc|ncat|socat|ssh|scp|psql|mount|umount|nsenter|unshare|"
                            r"kill|pkill|killall|sudo|su|chmod|chown|ln|nohup|setsid|disown|crontab|"
                            r"python3?|env|printenv|ps|dd|fallocate|mkfifo)\b")


@dataclass(frozen=True)
class Finding:
    """One line of a student's cell that an instructor should look at."""

    cell: int  # 1-based position among the notebook's code cells
    line: int
    code: str
    why: str  # a key of WHY
    detail: str = ""

    def describe(self) -> str:
        """English: where and why."""
        return f"code cell {self.cell}, line {self.line}: `{self.code}` ({WHY[self.why][1].format(self.detail)})"

    def describe_ko(self) -> str:
        """Korean: where and why."""
        return f"코드 셀 {self.cell}의 {self.line}번째 줄 `{self.code}` ({WHY[self.why][0].format(self.detail)})"


# --------------------------------------------------------------------------- reading cells

def _transformed(source: str) -> str:
    """The cell as IPython runs it: magics and shell escapes become ordinary Python calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # IPython cannot transform it: it will not run either
        return source


def _parse(source: str) -> ast.Module:
    try:
        return ast.parse(_transformed(source))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])  # a syntax error fails on its own


def _parents(tree) -> dict:
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _imported_modules(trees) -> set[str]:
    """Names bound to modules by imports in any cell (``import numpy as np`` -> np)."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.update(a.asname or a.name for a in node.names)
    return names


def _module_flagged(name: str) -> bool:
    if name in ALLOWED_SUBMODULES or any(name.startswith(a + ".") for a in ALLOWED_SUBMODULES):
        return False
    return name.split(".")[0] in FLAGGED_MODULES


def _ipython_call(node) -> str | None:
    """``get_ipython().X(...)`` -> "X"."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
            and isinstance(node.func.value.func, ast.Name) and node.func.value.func.id == "get_ipython"):
        return node.func.attr
    return None


def _constant(node) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


def _findings_in(tree, modules: set[str], magic_lines: set[int]):
    """(node, why, detail) for every flagged place; ``magic_lines`` hold a magic or shell escape."""
    parents = _parents(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _module_flagged(alias.name):
                    yield node, "import", alias.name
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if _module_flagged(module) and not _module_flagged(f"{module}.{alias.name}"):
                    continue  # from IPython import display
                if _module_flagged(module):
                    yield node, "import", module
                    break
        elif isinstance(node, ast.Call) and (method := _ipython_call(node)) is not None:
            if getattr(node, "lineno", 0) in magic_lines:
                yield from _magic_findings(node, method)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in FLAGGED_BUILTINS:
                yield node, "call", node.id
            elif HISTORY.match(node.id):
                yield node, "history", node.id
            elif node.id == "get_ipython" and getattr(node, "lineno", 0) not in magic_lines:
                yield node, "ipython", ""
        elif isinstance(node, ast.Attribute):
            yield from _attribute_findings(node, parents, modules)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (match := OUTSIDE.search(node.value)):
            if getattr(node, "lineno", 0) not in magic_lines:
                yield node, "path", match.group(0)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                root = _root_name(target)
                if isinstance(target, ast.Attribute) and (root is None or root in modules):
                    yield node, "replace", ""
                elif (isinstance(target, ast.Subscript) and root in modules
                      and not (isinstance(target.value, ast.Attribute) and target.value.attr in {"rcParams", "environ"})):
                    yield node, "table", ""


def _attribute_findings(node, parents, modules):
    attr, root = node.attr, _root_name(node.value)
    store = isinstance(node.ctx, (ast.Store, ast.Del))
    if attr.startswith("__") and attr.endswith("__"):
        # x.__class__ is type(x); reading it (for __name__) is harmless, replacing it is not.
        if attr not in HARMLESS_DUNDERS and not (attr == "__class__" and not store):
            yield node, "dunder", attr
    elif attr in FRAME_ATTRIBUTES:
        yield node, "frame", attr
    elif root == "sys" and attr in SYS_TABLES and "sys" in modules:
        yield node, "frame", f"sys.{attr}"
    elif root == "os" and "os" in modules and (attr in OS_CALLS or attr.startswith(OS_PREFIXES)):
        yield node, "os", attr
    elif root == "os" and attr == "environ" and "os" in modules:
        parent = parents.get(node)
        # os.environ['X'] = '...' sets a setting; reading the environment is what secrets leak through.
        if not (isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store)):
            yield node, "environ", ""


def _magic_findings(node, method: str):
    """Findings for a magic or shell escape IPython turned into ``get_ipython().method(...)``."""
    args = [_constant(a) for a in node.args]
    if method in ("system", "getoutput"):
        command = args[0] if args else ""
        if match := SHELL_COMMANDS.search(command) or OUTSIDE.search(command):
            yield node, "shell", (match.group(0) if match else command)[:40]
        return
    name = args[0] if args else ""
    body = args[2] if method == "run_cell_magic" and len(args) > 2 else args[1] if len(args) > 1 else ""
    if name in CODE_CELL_MAGICS and body:
        # %time x = f() and a %%time cell run Python: read it like any cell.
        yield node, "body", (body, 1 if method == "run_cell_magic" else 0)
        if name not in FLAGGED_MAGICS:
            return
    if name in FLAGGED_MAGICS:
        yield node, "magic", name
    if method == "run_cell_magic" and name not in CODE_CELL_MAGICS and len(args) > 2:
        if match := SHELL_COMMANDS.search(args[2]) or OUTSIDE.search(args[2]):
            yield node, "shell", match.group(0)[:40]


def _magic_lines(source: str) -> set[int]:
    """Line numbers (1-based) that hold a magic or a shell escape, which IPython rewrites."""
    original = source.splitlines()
    transformed = _transformed(source).splitlines()
    if original and original[0].lstrip().startswith("%%"):
        return {1}
    return {k for k, (a, b) in enumerate(zip(original, transformed), start=1) if a != b}


def _cell_findings(number: int, source: str, modules: set[str], offset: int = 0) -> list[Finding]:
    lines = source.splitlines()
    found = []
    for node, why, detail in _findings_in(_parse(source), modules, _magic_lines(source)):
        line = getattr(node, "lineno", 1)
        if why == "body":  # the Python a %time line or a %%time cell runs (a cell's body starts one line down)
            body, shift = detail
            found += _cell_findings(number, body, modules, offset + line - 1 + shift)
            continue
        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        found.append(Finding(number, line + offset, code[:80], why, detail))
    return found


def find_flagged_lines(cells: list[str], written_by_student: list[bool] | None = None) -> list[Finding]:
    """Lines an instructor should review, in the code cells (sources in notebook order).

    Only cells ``written_by_student`` are reported (default: all); every cell
    counts for knowing which names are imported modules.
    """
    written_by_student = written_by_student or [True] * len(cells)
    modules = _imported_modules(_parse(source) for source in cells)
    findings = []
    for number, (source, reported) in enumerate(zip(cells, written_by_student), start=1):
        if reported:
            findings += _cell_findings(number, source, modules)
    unique = {}
    for finding in findings:
        unique.setdefault((finding.cell, finding.line), finding)
    return sorted(unique.values(), key=lambda f: (f.cell, f.line))


def message(findings: list[Finding]) -> str:
    """The bilingual review note a flagged cell gets in the formgrader and the feedback."""
    more = len(findings) - 3
    ko = "; ".join(f.describe_ko() for f in findings[:3]) + (f" 외 {more}곳" if more > 0 else "")
    en = "; ".join(f.describe() for f in findings[:3]) + (f" (+{more} more)" if more > 0 else "")
    return (f"자동 검사가 채점 환경에 닿을 수 있는 코드를 찾았으므로 강사가 직접 검토합니다"
            f"(점수는 이 검사로 바뀌지 않습니다): {ko}. / The automatic scan found code that may reach into "
            f"the grading environment; an instructor will review it (this scan changes no score): {en}.")
