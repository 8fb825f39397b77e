"""Tests written to kill mutants of `domain/push_rules.py` that `bench/mutation.py` found alive.

Each test names the mutant(s) it kills. Mutants that no test can or need kill are explained
below with a `# mutant-survivor: <id>: <why>` comment (the bench reads them).
"""

from __future__ import annotations
