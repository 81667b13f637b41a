"""Student content for the sanitiser's tests: a script, the markup that could run, display outputs, a real PNG."""

from __future__ import annotations

import base64
import io
import re

from nbformat.v4 import new_output

SCRIPT = "<script>document.title='PWNED'</script>"
DANGER = re.compile(r"<script|<iframe|<object|<embed|<form|<svg|<style|<img|<link|<meta|<base|\son\w+\s*=|"
                    r"javascript:|style\s*=|srcdoc|xlink:href", re.I)


def png_base64() -> str:
    """A real PNG figure, base64 as a kernel sends it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def display(data, metadata=None, kind="display_data"):
    """A ``display_data`` output of ``data`` (or an ``execute_result``, as a cell's last value is shown)."""
    if kind == "execute_result":
        return new_output("execute_result", data=data, metadata=metadata or {}, execution_count=3)
    return new_output("display_data", data=data, metadata=metadata or {})
