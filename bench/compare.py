"""Before and after: one benchmark run on an earlier revision and on this tree, alternating,
in the same session, with the ratio of each figure.

    .venv/bin/python bench/compare.py --rev REV [--rounds 3] [--figure NAME=REGEX ...] [--this-script] -- bench/X.py [ARGS]

The earlier revision is checked out into a temporary git worktree (removed afterwards) and
run with this tree's virtual environment; the rounds alternate (before, after, before,
after...) so that a machine slowing down or warming up weighs on both sides alike. Each
``--figure`` names a number the benchmark prints (the regex's first group); the medians of
the rounds and their ratio after/before are printed. Without ``--figure``, the benchmark's
own output of the last round of each side is shown. Used for refactorings that must leave
the speed alone ("within ±10 %").
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(tree: Path, command: list[str]) -> str:
    proc = subprocess.run([sys.executable, *command], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)})
    if proc.returncode != 0:
        sys.exit(f"{command} failed in {tree}:\n{proc.stderr[-3000:]}")
    return proc.stdout


def figure(text: str, pattern: str) -> float:
    match = re.search(pattern, text)
    if match is None:
        sys.exit(f"no figure matches {pattern!r} in:\n{text}")
    return float(match.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", required=True, help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--figure", action="append", default=[], metavar="NAME=REGEX")
    parser.add_argument("--this-script", action="store_true", help="run this tree's benchmark script (and the "
                        "modules beside it) on the earlier revision too: a benchmark newer than it, over interfaces "
                        "both have")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the benchmark and its arguments")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the benchmark after --")
    figures = dict(f.split("=", 1) for f in args.figure)
    with tempfile.TemporaryDirectory(prefix="interdict-compare-") as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(before), args.rev], check=True)
        try:
            if args.this_script:  # the script and the helpers beside it (bench/served.py...)
                for helper in (REPO / command[0]).parent.glob("*.py"):
                    shutil.copyfile(helper, (before / command[0]).parent / helper.name)
            outputs: dict[str, list[str]] = {"before": [], "after": []}
            for round_ in range(1, args.rounds + 1):
                for side, tree in (("before", before), ("after", REPO)):
                    print(f"round {round_}/{args.rounds}: {side} ({args.rev if side == 'before' else 'this tree'})",
                          file=sys.stderr, flush=True)
                    outputs[side].append(run(tree, command))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(before)], check=False)
    print(f"{' '.join(command)}: {args.rev} against this tree, {args.rounds} alternating round(s)")
    for name, pattern in figures.items():
        values = {side: [figure(text, pattern) for text in texts] for side, texts in outputs.items()}
        medians = {side: statistics.median(v) for side, v in values.items()}
        print(f"{name}: before {medians['before']:,.1f}, after {medians['after']:,.1f}, ratio after/before "
              f"{medians['after'] / medians['before']:.3f} (runs before {', '.join(f'{v:,.1f}' for v in values['before'])}; "
              f"after {', '.join(f'{v:,.1f}' for v in values['after'])})")
    if not figures:
        for side in ("before", "after"):
            print(f"--- {side}, last round\n{outputs[side][-1]}")


if __name__ == "__main__":
    main()
