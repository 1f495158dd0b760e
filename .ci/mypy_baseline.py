"""mypy with a baseline that may only shrink: the errors per file may not grow, the strict modules have none.

python .ci/mypy_baseline.py           check (what .ci/run and pre-commit do)
python .ci/mypy_baseline.py --update  write the counts of today as the new baseline (after fixing some)
"""

from __future__ import annotations

import collections
import json
import pathlib
import re
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".ci" / "mypy-baseline.json"
ERROR = re.compile(r"^(?P<file>[^:]+\.py):\d+: error: ")


def strict_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    return [m for o in config.get("overrides", []) if o.get("disallow_untyped_defs") for m in o["module"]]


def is_strict(path: str, modules: list[str]) -> bool:
    dotted = path.removesuffix(".py").replace("/", ".")
    return any(dotted == m or (m.endswith(".*") and dotted.startswith(m[:-1])) for m in modules)


def error_counts() -> collections.Counter[str]:
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "bot", "handlers", "storage"], cwd=ROOT, capture_output=True, text=True
    )
    if run.returncode not in (0, 1):  # 2: mypy itself failed (a bad configuration)
        sys.exit(run.stdout + run.stderr)
    return collections.Counter(m["file"] for line in run.stdout.splitlines() if (m := ERROR.match(line)))


def main() -> int:
    counts = error_counts()
    if "--update" in sys.argv:
        BASELINE.write_text(json.dumps(dict(sorted(counts.items())), indent=1) + "\n")
        print(f"mypy baseline: {sum(counts.values())} errors in {len(counts)} files")
        return 0
    baseline = json.loads(BASELINE.read_text())
    strict = strict_modules()
    problems = [
        f"{path}: {n} errors in a strict module" for path, n in counts.items() if is_strict(path, strict)
    ]
    problems += [
        f"{path}: {n} errors, the baseline allows {baseline.get(path, 0)}"
        for path, n in sorted(counts.items())
        if n > baseline.get(path, 0) and not is_strict(path, strict)
    ]
    if problems:
        print("mypy found more than its baseline (run mypy on the files to see them):", *problems, sep="\n  ")
        return 1
    shrunk = sum(baseline.values()) - sum(counts.values())
    print(
        f"mypy: {sum(counts.values())} errors, within the baseline"
        + (f" ({shrunk} fewer: run `python .ci/mypy_baseline.py --update` to lower it)" if shrunk else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
