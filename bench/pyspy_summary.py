"""
Top functions by self time from a py-spy ``--format raw`` (folded stacks) file.

    .venv/bin/python bench/pyspy_summary.py profile.folded [N] [--inclusive TEXT]...

With ``--inclusive TEXT`` (repeatable) it also lists, by inclusive time (the function and
everything it called), the functions whose file path contains TEXT (e.g.
``hubsd/rooms/``): what a layer costs in all, not only in its own lines.
"""

from __future__ import annotations

import argparse
from collections import Counter


def _name(frame: str) -> str:
    # "func (path/file.py:123)" -> "func (path/file.py)"
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def main(path: str, top: int = 25, inclusive: list[str] | None = None) -> None:
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in open(path):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_name(f) for f in stack.split(";")]
        own[frames[-1]] += n
        if inclusive:
            for name in set(frames):
                if any(text in name for text in inclusive):
                    incl[name] += n
    print(f"{total} samples\n")
    print("| self % | function (file) |")
    print("|---|---|")
    for frame, n in own.most_common(top):
        print(f"| {100 * n / total:.1f} | `{frame}` |")
    if inclusive:
        where = " or ".join(repr(t) for t in inclusive)
        print(f"\n| inclusive % | function (file), files containing {where} |")
        print("|---|---|")
        for frame, n in incl.most_common(top):
            print(f"| {100 * n / total:.1f} | `{frame}` |")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("path")
    p.add_argument("top", nargs="?", type=int, default=25)
    p.add_argument(
        "--inclusive",
        action="append",
        help="also list inclusive time of functions in files whose path contains this (repeatable)",
    )
    a = p.parse_args()
    main(a.path, a.top, a.inclusive)
