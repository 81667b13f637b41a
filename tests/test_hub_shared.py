"""What every hub account shares (cnnviz/deploy/hub_shared.py): nbgrader's exchange, open to all."""

from __future__ import annotations

import os
import stat

from cnnviz.deploy import hub_shared, hub_site


def test_the_exchange_is_writable_by_every_account_below_a_folder_only_root_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(hub_site, "EXCHANGE", tmp_path / "nbgrader" / "exchange")
    exchange = hub_shared.ensure_exchange()
    assert exchange == tmp_path / "nbgrader" / "exchange"
    assert stat.S_IMODE(os.stat(exchange).st_mode) == 0o777  # nbgrader's documented setup
    assert stat.S_IMODE(os.stat(exchange.parent).st_mode) == 0o755
    assert hub_shared.ensure_exchange() == exchange  # a second run changes nothing
