"""The class list from the LMS: read, checked, recorded in nbgrader's gradebook and the course.

``python -m cnnviz roster import FILE`` (``make roster ROSTER=FILE``) reads a roster in
one of these formats, told apart by its header:

- **Canvas gradebook export** (*Grades → Export*): ``Student, ID, SIS User ID, SIS Login
  ID, Section, …``; its "Points Possible" and posting-policy rows (no ``ID``) and the
  test student are skipped. The login id is ``SIS Login ID``; ``Student`` is Canvas's
  sortable name, ``Last, First``.
- **Canvas users export** (an admin's provisioning report ``users.csv``): ``canvas_user_id,
  user_id, login_id, first_name, last_name, email, …``.
- **Moodle participants export** (*Participants → select all → Download table data as CSV*):
  ``First name, Last name, Email address`` and whichever identity fields the site shows; the
  login id is ``Username``, else ``ID number``, else the email address's part before ``@``.
- **plain CSV**: ``id, first name, last name, email``.

Every row is checked before anything is written: a bad roster (unknown or missing
columns, an empty or non-UTF-8 file, a missing, invalid or repeated login id) is refused
with one line naming the problem and its row, and changes nothing. A good one updates the
gradebook's students (id = login id, names, email, LMS id) and is kept as
``roster.json`` in the course root (not committed: it holds personal data), which the LMS
exports (``cnnviz.course.lms``) and ``make hub`` read. Importing again is idempotent: new
students are added, changed names and emails updated, and students no longer on the
roster are named in one line and kept, with their submissions and grades.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from cnnviz import COURSE_ROOT, CourseError, settings

ROSTER_FILE = "roster.json"
ROSTER_VARIABLE = settings.HUB_ROSTER_VARIABLE
# A login id becomes a Linux user name, a hub user and nbgrader's student id: the portable
# user names of useradd (lower case, digit, _ and -, starting with a letter or _), at most 32.
LOGIN_PATTERN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
LOGIN_RULE = "lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters"
# The course's own accounts and the usual system ones are nobody's login on the roster.
RESERVED_LOGINS = frozenset({"instructor", "cnnviz-jail", "root", "daemon", "bin", "sys", "nobody", "adm",
                             "sync", "games", "man", "mail", "news", "www-data", "backup", "postgres"})
# Canvas's "Student, Test" (Student View) is in every gradebook export.
CANVAS_TEST_STUDENTS = frozenset({"student, test", "test student"})


@dataclass(frozen=True)
class Student:
    """One student of the roster: the login id and what the LMS knows them by."""

    login: str  # Linux user name, hub user and nbgrader student id
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_name: str = ""  # the name as the LMS wrote it (Canvas's "Student" column)
    lms_id: str = ""  # Canvas's ID / canvas_user_id
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    id_number: str = ""  # Moodle's ID number
    username: str = ""  # Moodle's username


@dataclass(frozen=True)
class Format:
    """A roster format: its columns as the header names them (compared case- and space-blind)."""

    key: str
    label: str
    required: tuple[str, ...]


FORMATS = (
    Format("canvas", "Canvas gradebook export", ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")),
    Format("canvas-users", "Canvas users export",
           ("canvas_user_id", "user_id", "login_id", "first_name", "last_name", "email")),
    # Moodle writes First name, Last name and the site's identity fields ("Show user identity":
    # Email address by default, Username and ID number where the site shows them).
    Format("moodle", "Moodle participants export", ("First name", "Last name", "Email address")),
    Format("plain", "plain CSV", ("id", "first name", "last name", "email")),
)


def _norm(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").replace("_", " ").split()).lower()


def expected_columns() -> str:
    """The formats and their columns, as one line says them."""
    return "; ".join(f"{fmt.label} ({', '.join(fmt.required)})" for fmt in FORMATS)


def detect(header: list[str], name: str) -> Format:
    """The format whose columns the header has; else one line naming what is missing."""
    have = {_norm(column) for column in header}
    for fmt in FORMATS:
        if all(_norm(c) in have for c in fmt.required):
            return fmt
    # The nearest format, if the header is clearly one of ours with columns lost.
    def found(fmt):
        return sum(_norm(c) in have for c in fmt.required)
    nearest = max(FORMATS, key=lambda fmt: (found(fmt), found(fmt) / len(fmt.required)))
    if found(nearest) >= 2:
        missing = [c for c in nearest.required if _norm(c) not in have]
        raise CourseError(f"{name} looks like a {nearest.label} but lacks the column(s) {', '.join(missing)}: "
                          f"export the roster again with them")
    shown = " ".join(", ".join(header).split())[:120] or "(nothing)"  # one line, whatever the cells hold
    raise CourseError(f"{name}: its header ({shown}) is no roster format this course reads; "
                      f"expected the columns of a {expected_columns()}")


def _decode(data: bytes, name: str) -> str:
    if not data.strip():
        raise CourseError(f"{name} is empty: export the roster from your LMS again")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CourseError(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
                          f"save it as \"CSV UTF-8\" (or export it from the LMS again)") from None


def _split_sortable(name: str) -> tuple[str, str]:
    """Canvas's sortable name ``Last, First`` as (first, last)."""
    last, sep, first = name.partition(",")
    return (first.strip(), last.strip()) if sep else ("", name.strip())


def _student(fmt: Format, row: dict[str, str]) -> tuple[Student | None, str]:
    """A row as a Student (None for a row that is no student), and the column its login id came from."""
    get = {_norm(k): (v or "").strip() for k, v in row.items() if k is not None}.get
    if fmt.key == "canvas":
        if not get("id") or get("student").lower() in CANVAS_TEST_STUDENTS:
            return None, ""  # "Points Possible", a posting-policy row, the test student
        first, last = _split_sortable(get("student"))
        return Student(get("sis login id"), first, last, "", get("student"), get("id"), get("sis user id"),
                       get("sis login id"), get("section")), "SIS Login ID"
    if fmt.key == "canvas-users":
        return Student(get("login id"), get("first name"), get("last name"), get("email"),
                       f"{get('last name')}, {get('first name')}", get("canvas user id"), get("user id"),
                       get("login id")), "login_id"
    if fmt.key == "moodle":
        if get("username") or get("id number"):
            column = "Username" if get("username") else "ID number"
            login = get(_norm(column))
        else:  # a site that shows only the email: its local part, lower-cased (minji@univ.ac.kr: minji)
            column, login = "Email address (the part before @)", get("email address").partition("@")[0].lower()
        return Student(login, get("first name"), get("last name"), get("email address"),
                       id_number=get("id number"), username=get("username")), column
    return Student(get("id"), get("first name"), get("last name"), get("email")), "id"


def parse(data: bytes, name: str = "the roster") -> tuple[Format, list[Student]]:
    """The roster's format and students; any problem is one CourseError line, and nothing is read half."""
    text = _decode(data, name)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    # Only the delimiter is taken from the header (spreadsheets in some locales save ";"); quoting is
    # the standard one (doubled quotes), which a header without quotes cannot show.
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = reader.fieldnames or []
        fmt = detect([h for h in header if h], name)
        students, seen = [], {}
        for row in reader:
            line = reader.line_num
            student, column = _student(fmt, row)
            if student is None:
                continue
            login = student.login
            if not login:
                raise CourseError(f"{name} row {line}: no login id in its {column} column: fill it in, "
                                  f"or delete the row")
            if not LOGIN_PATTERN.fullmatch(login):
                raise CourseError(f"{name} row {line}: login id {login!r} (column {column}) is not a valid user "
                                  f"name ({LOGIN_RULE}): correct it in the LMS or the file")
            if login in RESERVED_LOGINS:
                raise CourseError(f"{name} row {line}: login id {login!r} is one of the course's or the system's "
                                  f"own accounts: give this student another")
            if login in seen:
                raise CourseError(f"{name} rows {seen[login]} and {line} have the same login id {login!r}: "
                                  f"each student needs their own")
            seen[login] = line
            students.append(student)
    except csv.Error as exc:
        raise CourseError(f"{name} line {reader.line_num}: not a readable CSV file ({exc})") from None
    if not students:
        raise CourseError(f"{name} has a {fmt.label} header but no students: export the roster again")
    return fmt, students


def read(path: Path) -> tuple[Format, list[Student]]:
    """:func:`parse` of the file ``path``; a course's own ``roster.json`` is read back as it was saved."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CourseError(f"cannot read the roster {path}: {exc.strerror}") from None
    if path.name == ROSTER_FILE:
        record = json.loads(data.decode("utf-8"))
        fmt = next((f for f in FORMATS if f.key == record.get("format")), FORMATS[-1])
        return fmt, _students_of(record)
    return parse(data, str(path))


# --------------------------------------------------------------------------- the course's copy

def roster_path(root: Path = COURSE_ROOT) -> Path:
    return Path(root) / ROSTER_FILE


def load(root: Path = COURSE_ROOT) -> list[Student] | None:
    """The students of the last import into the course in ``root``, or None if there was none."""
    path = roster_path(root)
    if not path.is_file():
        return None
    return _students_of(json.loads(path.read_text(encoding="utf-8")))


def _students_of(record: dict) -> list[Student]:
    known = {f.name for f in fields(Student)}
    return [Student(**{k: v for k, v in entry.items() if k in known}) for entry in record["students"]]


def _save(root: Path, fmt: Format, source: Path, students: list[Student]) -> Path:
    path = roster_path(root)
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps({"format": fmt.key, "source": str(source),
                                "students": [asdict(s) for s in students]}, indent=1, ensure_ascii=False),
                    encoding="utf-8")
    os.chmod(part, 0o600)  # names and emails
    os.replace(part, path)
    return path


def import_roster(path: Path, root: Path = COURSE_ROOT, db_url: str | None = None) -> str:
    """Read ``path`` and record its students in the gradebook and the course; returns the one-line summary."""
    from nbgrader.api import Gradebook

    fmt, students = read(path)  # everything checked before anything is written
    added, updated, unchanged = [], [], []
    with Gradebook(db_url or settings.db_url(root)) as gradebook:
        before = {s.id: s for s in gradebook.students}
        for student in students:
            wanted = {"first_name": student.first_name or None, "last_name": student.last_name or None,
                      "email": student.email or None, "lms_user_id": student.lms_id or None}
            old = before.get(student.login)
            if old is None:
                added.append(student.login)
            elif any(getattr(old, key) != value for key, value in wanted.items()):
                updated.append(student.login)
            else:
                unchanged.append(student.login)
                continue
            gradebook.update_or_create_student(student.login, **wanted)
        left = sorted(set(before) - {s.login for s in students})
    _save(root, fmt, Path(path), students)
    line = (f"[roster] {path} ({fmt.label}): {len(students)} students; {len(added)} added, "
            f"{len(updated)} updated (names or email), {len(unchanged)} unchanged")
    if left:
        line += (f"; not on this roster (kept, with their accounts, submissions and grades): "
                 f"{printable(left)}")
    return line


def printable(names) -> str:
    """Gradebook ids for a terminal line: any id with a control character (an escape sequence, from a
    submission folder's name, say) is shown escaped, never sent to the terminal as it is."""
    return ", ".join(n if n.isprintable() else n.encode("unicode_escape").decode("ascii") for n in names)


def hub_students(root: Path = COURSE_ROOT) -> list[str] | None:
    """The login ids ``make hub`` makes accounts for: ``$CNNVIZ_HUB_ROSTER``'s file, else the course's
    last import, else None (the numbered demo accounts)."""
    named = settings.hub_roster_file()
    if named is not None:
        return [s.login for s in read(named)[1]]
    saved = load(root)
    return [s.login for s in saved] if saved is not None else None
