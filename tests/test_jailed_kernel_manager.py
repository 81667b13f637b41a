"""cnnviz.grading.jailed_kernel_manager: a notebook run through nbclient in the jail, as nbgrader runs it."""

import os

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from test_jail import needs_bwrap

from cnnviz.grading import jailed_kernel_manager


@needs_bwrap
def test_a_notebook_runs_in_the_jail_through_nbclient(tmp_path):
    from nbclient import NotebookClient

    workdir = tmp_path / "alice"
    workdir.mkdir()
    (workdir / "best-cnn-model.keras").write_text("checkpoint")
    (workdir / "notes.ipynb").write_text("{}")
    nb = new_notebook(cells=[new_code_cell(
        "import os, socket\n"
        "print(os.getuid() != 0, sorted(os.listdir('.')), os.environ.get('NBGRADER_DB_URL'))\n"
        "try:\n    open('best-cnn-model.keras', 'w')\nexcept OSError as e:\n    print('read-only', type(e).__name__)\n"
        "print(socket.if_nameindex())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    os.environ["NBGRADER_DB_URL"] = "postgresql://grader:secret@127.0.0.1/x"
    try:
        client = NotebookClient(nb, kernel_manager_class=jailed_kernel_manager.kernel_manager_class(),
                                timeout=120, startup_timeout=120, shutdown_kernel="immediate",
                                resources={"metadata": {"path": str(workdir)}})
        client.execute()
    finally:
        del os.environ["NBGRADER_DB_URL"]
    printed = "".join(output.get("text", "") for output in nb.cells[0].outputs)
    first = printed.splitlines()[0]
    assert first.startswith("True ["), f"the kernel ran as root: {first}"
    assert "'best-cnn-model.keras'" in first and "notes.ipynb" not in first, f"home folder: {first}"
    assert first.endswith("None"), f"the grader's secret reached the kernel: {first}"
    assert "read-only" in printed, printed
    assert "'lo'" in printed and "eth" not in printed, printed
    assert nbformat.validate(nb) is None
