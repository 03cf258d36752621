"""`python -m memq` (and the `memq` command): the tour and the other tools.

    python -m memq tour [--seed=N]     the course notes' examples on the embedded broker
    python -m memq serve [--port 5673]  the simulated broker behind a real AMQP socket
    python -m memq report TRACE [-o OUT] a saved trace as an HTML sequence diagram
"""

from __future__ import annotations

import sys

USAGE = """usage: memq COMMAND [ARGS]

commands:
  tour [--seed=N] [--save=DIR]
                    run the course notes' examples on the embedded broker, printing what happened
                    (--save writes each scene's trace, as JSON lines, and its HTML report into DIR)
  serve [--host H] [--port 5673] [--control-port C] [--seed N] [--heartbeat S] [--trace FILE]
                    serve the simulated broker over AMQP 0-9-1 (its clock follows wall time)
  report TRACE [-o OUT.html]
                    render a saved trace (Trace.dumps() JSON lines) as an HTML message sequence diagram
"""


def main(argv: list[str] | None = None) -> int:
    """Dispatch a command; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "tour":
        from ._tour import main as tour

        return tour(rest)
    if command == "serve":
        from ._server import main as serve

        return serve(rest)
    if command == "report":
        return _report(rest)
    sys.stderr.write(f"memq: unknown command {command!r}\n{USAGE}")
    return 2


def _report(argv: list[str]) -> int:
    import argparse
    from pathlib import Path

    from ._report import format_events, load_trace, render_html

    parser = argparse.ArgumentParser(prog="memq report", description="Render a saved memq trace as HTML.")
    parser.add_argument("trace", type=Path, help="a file of Trace.dumps() JSON lines")
    parser.add_argument("-o", "--output", type=Path, default=None, help="the HTML file (default: TRACE with .html)")
    parser.add_argument("--last", type=int, default=None, help="draw only the last N message-flow steps")
    args = parser.parse_args(argv)
    events = load_trace(args.trace)
    output = args.output or args.trace.with_suffix(".html")
    page = render_html(events, title=args.trace.name, last=args.last,
                       sections=(("Events", format_events(events)),))
    output.write_text(page, encoding="utf-8")
    sys.stdout.write(f"{len(events)} events -> {output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
