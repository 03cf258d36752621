"""`python -m benchmarks`: run every scenario, print the tables, write the plots and docs/performance.md.

    .venv/bin/python -m benchmarks                 # the full run (a few minutes); writes into docs/
    .venv/bin/python -m benchmarks --smoke         # tiny sizes, a few seconds; writes nothing
    .venv/bin/python -m benchmarks --only routing --repeat 3   # a part: prints only, unless --out
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Callable

from . import latency, memory, overhead, profiles, routing, scaling, throughput
from ._harness import FULL, SMOKE, Config, Section
from ._plots import write_plots
from ._report import environment, markdown, targets_table, text_table, write_performance_md

SCENARIOS: dict[str, Callable[[Config], Section]] = {
    "throughput": throughput.run,   # 1
    "latency": latency.run,         # 2
    "routing": routing.run,         # 3
    "overhead": overhead.run,       # 4
    "memory": memory.run,           # 7
    "scaling": scaling.run,         # 8
    "profiles": profiles.run,
}
DOCS = Path(__file__).resolve().parent.parent / "docs"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, writes nothing by default")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--repeat", type=int, help="repeats per measurement (median); default 5, smoke 1")
    parser.add_argument("--no-rabbitmq", action="store_true", help="leave the real RabbitMQ out")
    parser.add_argument("--out", type=Path, help="where plots and performance.md go (default: docs/ for a full run of every scenario)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no plots or docs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sizes = SMOKE if args.smoke else FULL
    if args.repeat:
        sizes = dataclasses.replace(sizes, repeat=args.repeat)
    config = Config(sizes=sizes, smoke=args.smoke, rabbitmq=not args.no_rabbitmq,
                    log=lambda text: print(text, file=sys.stderr, flush=True))
    sections: list[Section] = []
    for key in args.only or list(SCENARIOS):
        config.log(f"running {key} ...")
        started = time.perf_counter()
        section = SCENARIOS[key](config)
        config.log(f"  {key} took {time.perf_counter() - started:.1f} s")
        sections.append(section)
        print(f"\n== {section.title} ==\n")
        print("\n\n".join(text_table(table) for table in section.tables), flush=True)
    targets = [target for section in sections for target in section.targets]
    print("\n== Summary ==\n")
    print(text_table(targets_table(targets)))
    print(f"\n{sum(s.rows for s in sections)} rows in {len(sections)} scenarios.")
    out = args.out if args.out is not None else (None if args.smoke or args.only else DOCS)
    if out is not None and not args.no_write:
        _write(out, sections, targets, config, argv)
    return 0


def _write(out: Path, sections: list[Section], targets: list, config: Config, argv: list[str] | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plots, why_not = write_plots(sections, out)
    if why_not:
        config.log(why_not)
    command = " ".join([".venv/bin/python -m benchmarks", *(sys.argv[1:] if argv is None else argv)]).strip()
    generated = markdown(sections, targets, environment(config.rabbitmq), plots, command)
    write_performance_md(out / "performance.md", generated)
    config.log(f"wrote {out / 'performance.md'} and {len(plots)} plots")


if __name__ == "__main__":
    sys.exit(main())
