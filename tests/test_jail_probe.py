"""cnnviz.grading.jail_probe: ``jail-check``'s probe, started in a new bubblewrap, finds the jail whole."""

from test_jail import needs_bwrap

from cnnviz import COURSE_ROOT
from cnnviz.grading import jail_policy, jail_probe


@needs_bwrap
def test_the_jail_check_probe_finds_every_property_holding():
    lines, ok = jail_probe.jail_check(jail_policy.Limits(), sensitive=[str(COURSE_ROOT / "source"),
                                                                       str(COURSE_ROOT / ".git"), "/etc/shadow"])
    assert ok, "\n".join(lines)
    assert all(line.startswith("ok") for line in lines), "\n".join(lines)
