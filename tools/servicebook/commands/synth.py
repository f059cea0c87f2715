"""servicebook synth N --out DIR — write a synthetic repository of N valid records."""

from __future__ import annotations

import time
from pathlib import Path

from servicebook.commands._common import UsageError, add_root, fail, find_root

NAME = "synth"
HELP = "Write a synthetic repository of N valid records for benchmarks and tests (生成合成数据)."


def configure(parser):
    parser.add_argument("n", type=int, help="number of records to write (people, customers and "
                                            "products included)")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder to create the repository in (its records/ must be empty)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    add_root(parser)
    parser.epilog = ("--root names the repository whose schemas/, records/policy/ and "
                     "records/calendar/ are copied (default: the current repository, else the "
                     "one this package is installed from).")


def run(args) -> int:
    from servicebook.write import synth

    try:
        source = find_root(args.root)
    except UsageError as err:
        if args.root is not None:
            return fail(str(err))
        source = None  # outside any repository: fall back to the package's own checkout
    started = time.perf_counter()
    try:
        counts = synth.generate(args.out, args.n, seed=args.seed, source=source)
    except (ValueError, FileExistsError, FileNotFoundError) as err:
        return fail(str(err))
    seconds = time.perf_counter() - started
    total = sum(counts.values())
    print(f"wrote {total} records to {args.out} in {seconds:.1f}s "
          f"({total / max(seconds, 1e-9):,.0f} records/s)")
    print("  " + ", ".join(f"{kind} {count}" for kind, count in counts.items()))
    return 0
