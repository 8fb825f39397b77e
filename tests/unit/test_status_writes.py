"""Only `sync/connection_status.py` writes a connection's status (issue 12): everything else asks it,
so every change passes the state machine of `domain/connection.py`.

The check reads the product's syntax trees for the two ways a status gets written: an
`update(Connection)…values(status=…)` statement and an assignment to `conn.status` /
`connection.status`. Planted writes show it can fail.
"""

from __future__ import annotations

import ast

import pytest

from tests.unit.package_sources import offenders

ALLOWED = frozenset({"ledgersync/sync/connection_status.py"})
CONNECTION_NAMES = {"conn", "connection"}


def _updates_connection(call: ast.AST) -> bool:
    """Whether a `….values(...)` chain starts from `update(Connection)`."""
    node = call
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "update":
            return bool(node.args) and isinstance(node.args[0], ast.Name) and node.args[0].id == "Connection"
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


def status_writes(source: str) -> list[int]:
    """Lines that write a connection's status."""
    lines: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            if any(k.arg == "status" for k in node.keywords) and _updates_connection(node.func.value):
                lines.append(node.lineno)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if (isinstance(target, ast.Attribute) and target.attr == "status" and isinstance(target.value, ast.Name)
                    and target.value.id in CONNECTION_NAMES):
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("planted", [
    "session.execute(update(Connection).where(Connection.id == cid).values(status='connected'))\n",
    "s.execute(update(Connection).values(status=new, status_detail=None).execution_options(x=1))\n",
    "conn.status = 'connected'\n",
    "connection.status = ConnectionStatus.ERROR.value\n",
])
def test_a_planted_status_write_is_found(planted: str) -> None:
    assert status_writes(planted) == [1]


def test_other_writes_are_not_status_writes() -> None:
    clean = ("s.execute(update(SyncRun).values(status='failed'))\n"
             "intent.status = 'done'\nrun.status = 'ok'\n"
             "s.execute(update(Connection).values(token_version=2))\n")
    assert status_writes(clean) == []


def test_only_connection_status_writes_a_connections_status() -> None:
    found = offenders(status_writes, allowed=ALLOWED)
    assert found == {}, found
