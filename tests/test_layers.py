"""The layers lean one way: pages -> core -> db. Parsed with `ast`, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (folder, top-level packages it must never import, why)
RULES = [
    ("core", {"streamlit"}, "core is the engine; the CLI and worker run it without a UI"),
    ("db", {"core", "pages", "streamlit"}, "db is the bottom layer"),
    ("pages", {"sqlalchemy", "sqlite3"}, "pages hold no SQL; they call core/db functions"),
]


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import statement in one file, wherever it sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for folder, banned, why in RULES:
        for path in sorted((root / folder).rglob("*.py")):
            for line, package in imported_packages(path):
                if package in banned:
                    out.append(f"{path.relative_to(root)}:{line} imports {package} ({why})")
    return out


def test_every_layer_imports_only_downwards():
    assert violations() == []


def test_a_broken_rule_is_reported(tmp_path):
    for folder in ("core", "db", "pages"):
        (tmp_path / folder).mkdir()
    (tmp_path / "core" / "ok.py").write_text("import numpy\nfrom db.tables import Item\n")
    (tmp_path / "db" / "bad.py").write_text("def f():\n    from core.models import load_model\n")
    (tmp_path / "pages" / "bad.py").write_text("import sqlalchemy.orm\n")
    assert violations(tmp_path) == [
        "db/bad.py:2 imports core (db is the bottom layer)",
        "pages/bad.py:1 imports sqlalchemy (pages hold no SQL; they call core/db functions)",
    ]

