"""Mutation testing of the money rules and the push engine's Zoho writes: can the proofs fail?

`python bench/mutation.py [--module PATH ...] [--campaign-faults N] [--seed S]`

A small AST-mutation runner (mutmut 3 wants a `src/` layout and copies the tree into
`mutants/`, which fights this repository's test plugins and the in-process sandbox; this runner
keeps the tests exactly as CI runs them). For each function of the target modules it makes one
mutant per mutation point — comparison flipped (`<`↔`<=`, `>`↔`>=`, `==`↔`!=`, `in`↔`not in`,
`is`↔`is not`), arithmetic swapped (`+`↔`-`, `*`↔`/`), `and`↔`or`, `not` dropped, `min`↔`max`,
`True`↔`False`, a non-zero number constant changed, a condition negated — and installs it by
swapping the function's `__code__` (so every module that imported the function, tests
included, runs the mutant). Each mutant is judged by:

1. the unit tests (`tests/push/test_push_rules.py`, `test_push_planning.py`,
   `test_mutation_kills.py`): run
   once under pytest as CI runs them, then per mutant called directly as the plain functions
   they are (no fixtures; `parametrize` expanded — checked), stopping at the first failure; if they all
   pass,
2. a small fault campaign (`tests/push/campaign.py`, its independent oracle) on a fresh SQLite
   database and sandbox: killed if the oracle finds anything or the campaign raises.

A survivor is a mutant both let through. Survivors of `domain/push_rules.py` must be killed by
a new test or explained in a comment of the test suite of the form
`# mutant-survivor: <id>: <why it cannot or need not be caught>`; `survivors_unexplained`
counts the ones that are neither (it must be 0 for push_rules).

Prints each survivor (id, line, original → mutant) and, LAST, one JSON line with `mutants`,
`killed`, `score`, `survivors_unexplained`, per-module figures and the seconds it took.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import importlib
import io
import json
import re
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_MODULES = ["ledgersync/domain/push_rules.py", "ledgersync/sync/push/zoho_writes.py"]
UNIT_TESTS = ["tests/push/test_push_rules.py", "tests/push/test_push_planning.py", "tests/push/test_mutation_kills.py"]
EXPLAINED = re.compile(r"#\s*mutant-survivor:\s*(\S+)\s*:")

_CMP_SWAP: dict[type, type] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                               ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
                               ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BIN_SWAP: dict[type, type] = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


@dataclass
class Mutant:
    module: str  # dotted
    qualname: str  # function, or Class.method
    index: int  # k-th mutation point in the function (stable while the function is unchanged)
    kind: str
    line: int
    before: str
    after: str

    @property
    def id(self) -> str:
        return f"{self.module.rsplit('.', 1)[-1]}.{self.qualname}#{self.index}:{self.kind}"


def _points(fn: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """Mutation points of a function's BODY in a fixed (walk) order: (node, kind).

    Not its signature: default values live in `__defaults__`, not in the code swapped in, so a
    mutated default would be a mutant that cannot differ (and a Protocol stub has no body)."""
    body = fn.body  # type: ignore[attr-defined]
    nodes = [n for stmt in body for n in ast.walk(stmt)]
    for node in nodes:
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _CMP_SWAP:
                    yield node, f"cmp{i}"
        elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAP:
            yield node, "binop"
        elif isinstance(node, ast.BoolOp):
            yield node, "boolop"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, "not"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
            yield node, "minmax"
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield node, "bool"
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value not in (0,):
            yield node, "number"
        elif isinstance(node, (ast.If, ast.IfExp, ast.While)):
            yield node, "negate"


def _mutate(node: ast.AST, kind: str) -> None:
    if kind.startswith("cmp"):
        i = int(kind[3:])
        node.ops[i] = _CMP_SWAP[type(node.ops[i])]()  # type: ignore[attr-defined]
    elif kind == "binop":
        node.op = _BIN_SWAP[type(node.op)]()  # type: ignore[attr-defined]
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()  # type: ignore[attr-defined]
    elif kind == "not":
        node.operand = ast.UnaryOp(ast.Not(), node.operand)  # type: ignore[attr-defined]  # `not not x`: dropped
    elif kind == "minmax":
        node.func.id = "max" if node.func.id == "min" else "min"  # type: ignore[attr-defined]
    elif kind == "bool":
        node.value = not node.value  # type: ignore[attr-defined]
    elif kind == "number":
        node.value = node.value + 1  # type: ignore[attr-defined]
    elif kind == "negate":
        node.test = ast.UnaryOp(ast.Not(), node.test)  # type: ignore[attr-defined]


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef):
                    yield f"{node.name}.{sub.name}", sub


def enumerate_mutants(path: str) -> tuple[str, ast.Module, list[Mutant]]:
    module = path.removesuffix(".py").replace("/", ".")
    tree = ast.parse((ROOT / path).read_text(), filename=path)
    out: list[Mutant] = []
    for qualname, fn in _functions(tree):
        for k, (node, kind) in enumerate(_points(fn)):
            before = ast.unparse(node.test if kind == "negate" else node)  # type: ignore[attr-defined]
            clone = copy.deepcopy(node)
            _mutate(clone, kind)
            after = ast.unparse(clone.test if kind == "negate" else clone)  # type: ignore[attr-defined]
            if kind == "not":
                after = ast.unparse(node.operand)  # type: ignore[attr-defined]
            out.append(Mutant(module, qualname, k, kind, getattr(node, "lineno", fn.lineno), before[:120], after[:120]))
    return module, tree, out


def _target(mod: Any, qualname: str) -> Any:
    obj: Any = mod
    for part in qualname.split("."):
        raw = obj.__dict__[part] if isinstance(obj, type) else getattr(obj, part)
        obj = raw.fget if isinstance(raw, property) else raw
    return obj


@contextlib.contextmanager
def installed(m: Mutant, tree: ast.Module, path: str) -> Iterator[None]:
    """Swap the function's code for the mutant's for the duration of the block."""
    mod = importlib.import_module(m.module)
    fn_node = next(fn for q, fn in _functions(tree) if q == m.qualname)
    clone = copy.deepcopy(fn_node)
    clone.decorator_list = []
    node, kind = list(_points(clone))[m.index]
    _mutate(node, kind)
    ast.fix_missing_locations(clone)
    namespace = dict(vars(mod))
    exec(compile(ast.Module([clone], []), path, "exec"), namespace)  # noqa: S102 - the mutant under test
    target = _target(mod, m.qualname)
    original = target.__code__
    target.__code__ = namespace[clone.name].__code__  # ValueError for a closure: none in the targets
    try:
        yield
    finally:
        target.__code__ = original


class Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def _raise(*_a: Any) -> None:
        raise Timeout()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def unit_tests_pass(tests: list[str]) -> bool:
    """Under pytest (the baseline run, as CI runs them)."""
    import pytest

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = pytest.main([*tests, "-x", "-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=",
                            "--timeout", "60"])
    return code == 0


def unit_test_functions(tests: list[str]) -> list[Any]:
    """The unit tests as plain functions (they take no fixtures and no parameters: checked here)."""
    import functools
    import inspect

    out = []
    for t in tests:
        mod = importlib.import_module(str(Path(t).relative_to(ROOT)).removesuffix(".py").replace("/", "."))
        for name, fn in sorted(vars(mod).items()):
            if not (name.startswith("test_") and callable(fn)):
                continue
            marks = getattr(fn, "pytestmark", [])
            if any(m.name != "parametrize" for m in marks) or len(marks) > 1:
                raise SystemExit(f"{t}::{name} has marks this runner does not expand: run it under pytest")
            if marks:
                names, values = marks[0].args[0], marks[0].args[1]
                names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
                for v in values:
                    v = getattr(v, "values", v)
                    v = v if len(names) > 1 else (v,)
                    out.append(functools.partial(fn, **dict(zip(names, v, strict=True))))
            elif inspect.signature(fn).parameters:
                raise SystemExit(f"{t}::{name} takes fixtures: run it under pytest instead")
            else:
                out.append(fn)
    return out


def functions_pass(functions: list[Any]) -> bool:
    """Each unit test called directly (milliseconds, not a pytest session per mutant)."""
    for fn in functions:
        try:
            with time_limit(20):
                fn()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - any failure kills it (pytest's Failed, Timeout included)
            return False
    return True


def campaign_clean(faults: int, seed: int) -> bool:
    from cryptography.fernet import Fernet

    from ledgersync.bootstrap import Container
    from ledgersync.settings import Settings
    from tests.plugins.zoho_fixtures import bind_container_to_sandbox
    from tests.push.campaign import run_campaign
    from zohobooks_sandbox import SandboxConfig, create_app

    tmp = tempfile.mkdtemp(prefix="mutant-")
    settings = Settings(_env_file=None, env="test", database_url=f"sqlite:///{tmp}/m.db",  # type: ignore[call-arg]
                        token_encryption_key=Fernet.generate_key().decode(), scheduler="off")
    container = Container(settings)
    app = create_app(SandboxConfig(demo=True, manual_clock=True, time_scale=1.0, seed=seed))
    bind_container_to_sandbox(container, app)
    try:
        with time_limit(300):
            return run_campaign(container, app, faults=faults, seed=seed).clean
    except Exception:  # noqa: BLE001 - a mutant that breaks the campaign is killed by it
        return False
    finally:
        container.close()


def explained_ids() -> set[str]:
    ids: set[str] = set()
    for f in (ROOT / "tests").rglob("*.py"):
        ids.update(EXPLAINED.findall(f.read_text()))
    return ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", action="append", help="a module path to mutate (repeatable)")
    ap.add_argument("--campaign-faults", type=int, default=40, help="size of the campaign a unit-test survivor meets")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--only", default=None, help="run only mutants whose id contains this")
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)
    started = time.monotonic()
    tests = [str(ROOT / t) for t in UNIT_TESTS if (ROOT / t).exists()]
    if not unit_tests_pass(tests):
        sys.exit("the unit tests fail without any mutant: fix them first")
    functions = unit_test_functions(tests)
    if not functions_pass(functions):
        sys.exit("the unit tests, called directly, fail without any mutant: this runner cannot judge them")
    explained = explained_ids()
    per_module: dict[str, dict[str, Any]] = {}
    survivors: list[tuple[Mutant, str]] = []
    total = killed = 0
    for path in args.module or DEFAULT_MODULES:
        module, tree, mutants = enumerate_mutants(path)
        stats = per_module.setdefault(path, {"mutants": 0, "killed": 0, "by_tests": 0, "by_campaign": 0,
                                             "survivors": 0, "survivors_unexplained": 0})
        for m in mutants:
            if args.only and args.only not in m.id:
                continue
            stats["mutants"] += 1
            total += 1
            with installed(m, tree, path):
                if not functions_pass(functions):
                    stats["by_tests"] += 1
                elif not campaign_clean(args.campaign_faults, args.seed):
                    stats["by_campaign"] += 1
                else:
                    note = "explained" if m.id in explained else "UNEXPLAINED"
                    survivors.append((m, note))
                    stats["survivors"] += 1
                    stats["survivors_unexplained"] += note == "UNEXPLAINED"
                    print(f"survivor {m.id} (line {m.line}, {note}): {m.before}  →  {m.after}", flush=True)
                    continue
            stats["killed"] += 1
            killed += 1
        stats["score"] = round(stats["killed"] / stats["mutants"], 3) if stats["mutants"] else None
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"mutation testing ({time.monotonic() - started:.0f} s)")
    for col in ("module", "mutants", "killed by unit tests", "by campaign", "survivors", "unexplained", "score"):
        table.add_column(col, justify="right" if col != "module" else "left")
    for path, s in per_module.items():
        table.add_row(path, str(s["mutants"]), str(s["by_tests"]), str(s["by_campaign"]), str(s["survivors"]),
                      str(s["survivors_unexplained"]), str(s["score"]))
    Console(width=150).print(table)
    for m, note in survivors:
        print(f"  {note:11} {m.id}  line {m.line}: {m.before}  →  {m.after}")
    rules_unexplained = per_module.get("ledgersync/domain/push_rules.py", {}).get("survivors_unexplained", 0)
    print(json.dumps({"mutants": total, "killed": killed, "score": round(killed / total, 3) if total else None,
                      "survivors_unexplained": rules_unexplained,
                      "survivors_unexplained_all": sum(s["survivors_unexplained"] for s in per_module.values()),
                      "modules": per_module, "campaign_faults": args.campaign_faults,
                      "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
