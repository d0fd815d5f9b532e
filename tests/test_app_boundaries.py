"""The kiosk and display apps carry no tools that start a queue server (issue 12).

A hall's kiosk and display talk to the server through ``queue_server.client`` and the
wire's own modules (``queue_server.protocol``, ``queue_server.callevent``: what a client
reads off the wire) and share its pure rules (``queue_server.core``); the server itself,
its store, its hall-file loader and the demo are not theirs to import: a throwaway demo
hall for the layout checks, screenshots and benchmarks lives in ``scripts/demo_hall.py``.
Read from the source with ``ast``, so an import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = (
    "queue_server.client",
    "queue_server.protocol",
    "queue_server.callevent",
    "queue_server.core",
)


def server_imports(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name == "queue_server" or name.startswith("queue_server."):
                    if not any(name == a or name.startswith(a + ".") for a in ALLOWED):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def test_kiosk_and_display_import_only_the_client_the_wire_and_the_pure_core():
    assert server_imports("kiosk") == []
    assert server_imports("display") == []
