"""
Top functions by self time from a py-spy ``--format raw`` (folded stacks) file.

    .venv/bin/python bench/pyspy_summary.py profile.folded [N]
"""

from __future__ import annotations

import sys
from collections import Counter


def main(path: str, top: int = 25) -> None:
    own: Counter[str] = Counter()
    total = 0
    for line in open(path):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        # "func (file.py:123)" -> "func (file.py)": self time per function.
        frame = stack.split(";")[-1]
        name, _, where = frame.partition(" (")
        own[f"{name} ({where.rsplit(':', 1)[0]})" if where else name] += n
    print(f"{total} samples\n")
    print("| self % | function (file) |")
    print("|---|---|")
    for frame, n in own.most_common(top):
        print(f"| {100 * n / total:.1f} | `{frame}` |")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
