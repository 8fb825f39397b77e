"""Vulnerability audit of the pinned dependencies (`constraints.txt`) against PyPI's advisory data.

1. `pip-audit --no-deps -r constraints.txt` (the maintained tool; PyPI's per-release JSON).
2. For every pin pip-audit could not audit (on this machine PyPI's per-release JSON answers 404,
   only the per-project JSON is reachable), the per-project JSON is read: its `vulnerabilities`
   are those of the project's newest release, so they count for a pin that IS the newest release.
3. A pin that neither source covers is reported as NOT AUDITED — never as clean.

Prints a table, then one JSON line. Exit 1 when a known vulnerability affects a pin; exit 0
otherwise, also when some pins could not be audited (they are listed), unless
`LEDGERSYNC_AUDIT_STRICT=1`, which makes "not audited" a failure too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "constraints.txt"
PYPI = "https://pypi.org/pypi"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[name.strip().lower().replace("_", "-")] = version.strip()
    return found


def run_pip_audit(path: Path) -> tuple[dict[str, list[str]], set[str], str]:
    """(vulnerable name -> advisory ids, audited names, note) from pip-audit's JSON report."""
    cmd = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "-r", str(path), "-f", "json",
           "--progress-spinner", "off"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        report = json.loads(done.stdout or "{}")
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return {}, set(), f"pip-audit did not run: {exc}"
    vulnerable, audited = {}, set()
    for dep in report.get("dependencies", []):
        name = dep["name"].lower().replace("_", "-")
        if "skip_reason" in dep:
            continue
        audited.add(name)
        if dep.get("vulns"):
            vulnerable[name] = [v["id"] for v in dep["vulns"]]
    return vulnerable, audited, f"pip-audit audited {len(audited)}"


def project_json_audit(names: dict[str, str]) -> tuple[dict[str, list[str]], set[str], dict[str, str]]:
    """Advisories of pins that are their project's newest release (per-project JSON)."""
    vulnerable, audited, why = {}, set(), {}
    with httpx.Client(timeout=20, follow_redirects=True) as http:
        for name, version in names.items():
            try:
                r = http.get(f"{PYPI}/{name}/json")
            except httpx.HTTPError as exc:
                why[name] = f"PyPI unreachable ({type(exc).__name__})"
                continue
            if r.status_code != 200:
                why[name] = f"PyPI answered {r.status_code}"
                continue
            data = r.json()
            newest = data.get("info", {}).get("version")
            if newest != version:
                why[name] = f"pinned {version}, PyPI's advisories readable here only for the newest ({newest})"
                continue
            audited.add(name)
            ids = [v.get("id", "?") for v in data.get("vulnerabilities", []) if not v.get("withdrawn")]
            if ids:
                vulnerable[name] = ids
    return vulnerable, audited, why


def main() -> int:
    locked = pins(LOCK)
    vulnerable, audited, note = run_pip_audit(LOCK)
    rest = {n: v for n, v in locked.items() if n not in audited}
    more_vulnerable, more_audited, why = project_json_audit(rest)
    vulnerable.update(more_vulnerable)
    print(f"{'package':32} {'version':14} result")
    for name, version in sorted(locked.items()):
        if name in vulnerable:
            result = "VULNERABLE: " + ", ".join(vulnerable[name])
        elif name in audited or name in more_audited:
            result = "no known vulnerability"
        else:
            result = "NOT AUDITED: " + why.get(name, "no advisory data")
        print(f"{name:32} {version:14} {result}")
    not_audited = sorted(set(locked) - audited - more_audited)
    summary = {"pins": len(locked), "audited_by_pip_audit": len(audited), "audited_by_project_json": len(more_audited),
               "not_audited": len(not_audited), "vulnerable": sorted(vulnerable), "note": note}
    print(json.dumps(summary))
    if vulnerable:
        return 1
    if not_audited and os.environ.get("LEDGERSYNC_AUDIT_STRICT") == "1":
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
