"""Printing results for people (--json off) and machines (--json on)."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit(payload: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        json.dump(payload, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(human if human is not None else json.dumps(payload, indent=2, default=str))
