"""`python -m benchmarks` (or `make bench`): every benchmark, each printing its figures."""

from __future__ import annotations

import importlib
import sys

MODULES = ["bench_engine", "bench_render", "bench_master", "bench_service"]


def main() -> None:
    chosen = sys.argv[1:] or MODULES
    del sys.argv[1:]  # the modules' own option parsers must not see the names chosen here
    for name in chosen:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        print(f"\n=== {name}")
        module.main()


if __name__ == "__main__":
    main()
