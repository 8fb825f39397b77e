"""Run a bench script's `main` in-process, as the bench tests do: the JSON line it prints last
must be what `main` returned."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def run_bench(script: str, argv: list[str], capsys: Any) -> dict[str, Any]:
    path = BENCH_DIR / script
    spec = importlib.util.spec_from_file_location(f"{path.stem}_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses of a bench look their module up
    spec.loader.exec_module(module)
    out: dict[str, Any] = module.main(argv)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == out
    return out
