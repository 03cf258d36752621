"""`python -m memq` (and the `memq` command): the tour and the other tools.

    python -m memq tour [--seed=N]     the course notes' examples on the embedded broker
    python -m memq serve [--port 5673]  the simulated broker behind a real AMQP socket
"""

from __future__ import annotations

import sys

USAGE = """usage: memq COMMAND [ARGS]

commands:
  tour [--seed=N]   run the course notes' examples on the embedded broker, printing what happened
  serve [--host H] [--port 5673] [--control-port C] [--seed N] [--heartbeat S] [--trace FILE]
                    serve the simulated broker over AMQP 0-9-1 (its clock follows wall time)
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
    sys.stderr.write(f"memq: unknown command {command!r}\n{USAGE}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
