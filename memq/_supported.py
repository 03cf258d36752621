"""What memq supports, as tables: AMQP methods, exchange types, arguments, properties, reply texts, features.

docs/supported.md is generated from this module (`scripts/supported`, or `python -m memq._supported --write
docs/supported.md`); a test fails when the page is stale. Where memq already keeps a table the rows come from
it: queue arguments from `_arguments.QUEUE_ARGUMENTS`, exchange types from `ExchangeType`, reply texts from
`_replies.REPLIES`, properties from `_messages.PROPERTY_NAMES`. A key added there without a note here makes
the generator (and so the test) fail.

Statuses: `supported` (behaves as RabbitMQ 3.10 does), `validated` (checked as RabbitMQ checks it, no other
effect: memory and disk tuning has nothing to act on in memq), `partial` (the note says which part; the rest
raises `memq.errors.Unsupported`), `not sent` (RabbitMQ sends it in situations memq does not have),
`ignored` (accepted without RabbitMQ's value checks, no effect), `unsupported` (raises
`memq.errors.Unsupported`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterable

from ._arguments import QUEUE_ARGUMENTS, REFUSED_BY_TYPE
from ._exchanges import ExchangeType
from ._messages import PROPERTY_NAMES
from ._replies import REPLIES

__all__ = ["METHODS", "EXCHANGE_TYPES", "QUEUE_ARGUMENT_NOTES", "FEATURES", "render", "main"]

Row = tuple[str, str, str]

METHODS: tuple[Row, ...] = (
    ("connection.start / start-ok", "supported", "PLAIN; a wrong user or password gets RabbitMQ's 403 close"),
    ("connection.secure / secure-ok", "not sent", "RabbitMQ does not use them for PLAIN either"),
    ("connection.tune / tune-ok", "supported", "channel_max 2047, frame_max 131072, heartbeat 60, as RabbitMQ"),
    ("connection.open / open-ok", "supported", "virtual hosts from `Broker.add_vhost`; unknown: 530"),
    ("connection.close / close-ok", "supported", "both directions; hard errors close with RabbitMQ's code and text"),
    ("connection.blocked / unblocked", "not sent", "memq has no memory or disk alarms"),
    ("connection.update-secret", "supported", "accepted"),
    ("channel.open / open-ok", "supported", ""),
    ("channel.flow", "supported", "active=true; active=false is RabbitMQ's 540 connection error"),
    ("channel.close / close-ok", "supported", "both directions; requeues the channel's unacked messages"),
    ("exchange.declare", "supported", "passive, durable, auto-delete, internal, equivalence checks"),
    ("exchange.delete", "supported", "if-unused"),
    ("exchange.bind / unbind", "supported", "exchange-to-exchange bindings"),
    ("queue.declare", "supported", "passive, durable, exclusive, auto-delete, server-named, equivalence checks"),
    ("queue.bind / unbind", "supported", "queue \"\" and routing key \"\" mean the channel's last declared queue"),
    ("queue.purge", "supported", ""),
    ("queue.delete", "supported", "if-unused, if-empty"),
    ("basic.qos", "supported", "prefetch_count per consumer or global; prefetch_size != 0 is RabbitMQ's 540"),
    ("basic.consume / consume-ok", "supported", "exclusive, no-ack, `x-priority`; server-generated tags"),
    ("basic.cancel / cancel-ok", "supported", "client cancel, and the broker's cancel when a queue goes"),
    ("basic.publish", "supported", "mandatory; immediate=true is RabbitMQ's 540"),
    ("basic.return", "supported", "312 NO_ROUTE for mandatory messages no queue took"),
    ("basic.deliver", "supported", ""),
    ("basic.get / get-ok / get-empty", "supported", ""),
    ("basic.ack", "supported", "multiple; also publisher confirms from the broker"),
    ("basic.reject", "supported", "requeue to the original position, or dead-letter"),
    ("basic.nack", "supported", "multiple; also negative publisher confirms (reject-publish)"),
    ("basic.recover / recover-async", "supported", "requeue=true; requeue=false is RabbitMQ's 540"),
    ("confirm.select", "supported", "publisher confirms"),
    ("tx.select / commit / rollback", "supported", "publishes and acks held until commit"),
)
"""Every AMQP 0-9-1 method RabbitMQ 3.10 speaks, and what memq does with it."""

EXCHANGE_TYPES: dict[str, str] = {
    "direct": "routing key equals binding key",
    "fanout": "every binding",
    "topic": "`*` one word, `#` zero or more; empty words count; keys up to 255 bytes",
    "headers": "`x-match` all / any / all-with-x / any-with-x; values compared by type, void matches presence",
}
"""Notes on the exchange types memq routes for (the rows come from `ExchangeType`)."""

UNSUPPORTED_EXCHANGE_TYPES: dict[str, str] = {
    "x-consistent-hash": "a plugin exchange; raises `Unsupported`",
    "x-delayed-message": "a plugin exchange; raises `Unsupported`",
    "x-random": "a plugin exchange; raises `Unsupported`",
    "x-local-random": "RabbitMQ 3.11's; raises `Unsupported`",
}

EXCHANGE_ARGUMENTS: tuple[Row, ...] = (
    ("alternate-exchange", "supported", "unroutable messages go there (and on, through its own alternate)"),
)

QUEUE_ARGUMENT_NOTES: dict[str, tuple[str, str]] = {
    "x-expires": ("supported", "the queue is deleted when unused that long (no consumer, get or declare)"),
    "x-message-ttl": ("supported", "expired messages leave from the head, dead-lettered if the queue has a DLX"),
    "x-dead-letter-exchange": ("supported", "rejected, expired and overflowing messages, with `x-death`"),
    "x-dead-letter-routing-key": ("supported", "replaces the routing key when dead-lettering"),
    "x-max-length": ("supported", "counts ready messages"),
    "x-max-length-bytes": ("supported", "counts ready message bodies"),
    "x-overflow": ("supported", "drop-head, reject-publish (a confirm nack), reject-publish-dlx"),
    "x-max-priority": ("supported", "priority levels 0..n; higher first, FIFO within a level"),
    "x-single-active-consumer": ("supported", "only the first consumer gets messages until it goes"),
    "x-queue-type": ("partial", "classic and quorum; stream raises `Unsupported`"),
    "x-delivery-limit": ("partial", "quorum queues: dead-letters or drops after that many returns"),
    "x-queue-mode": ("validated", "lazy or default: memory tuning, no observable effect"),
    "x-max-in-memory-length": ("validated", "quorum memory tuning; refused by classic queues as by RabbitMQ"),
    "x-max-in-memory-bytes": ("validated", "quorum memory tuning; refused by classic queues as by RabbitMQ"),
    "x-dead-letter-strategy": ("partial", "quorum queues: at-most-once; at-least-once raises `Unsupported`"),
    "x-quorum-initial-group-size": ("ignored", "cluster size: memq is one node; refused by classic queues"),
    "x-queue-master-locator": ("validated", "cluster placement, memq is one node; unknown values crash the "
                               "declaration with 541 as in RabbitMQ; refused by quorum queues"),
    "x-queue-version": ("validated", "1 or 2: storage format, no observable effect; refused by quorum queues"),
}
"""What memq does with each queue argument RabbitMQ 3.10 knows (keys of `QUEUE_ARGUMENTS` must all be here)."""

CONSUMER_ARGUMENTS: tuple[Row, ...] = (
    ("x-priority", "supported", "higher-priority consumers are served first while they have capacity"),
)

PROPERTY_NOTES: dict[str, str] = {
    "expiration": "per-message TTL in ms (a string), checked as RabbitMQ checks it",
    "priority": "used by queues with `x-max-priority`",
    "delivery_mode": "2 (persistent) survives `broker.restart()` in a durable queue",
    "user_id": "must equal the connection's user (406 otherwise)",
    "reply_to": "`amq.rabbitmq.reply-to` is direct reply-to",
    "headers": "routed on by headers exchanges; the broker adds `x-death` and `x-first-death-*`",
}
"""Notes on the message properties whose value the broker acts on; the others pass through unchanged."""

BROKER_HEADERS: tuple[Row, ...] = (
    ("x-death", "supported", "one entry per (queue, reason), count, time, exchange, routing-keys"),
    ("x-first-death-reason / -queue / -exchange", "supported", "set on the first dead-lettering"),
    ("x-delivery-count", "supported", "quorum queues, on redeliveries"),
)

FEATURES: tuple[Row, ...] = (
    ("publisher confirms, mandatory and returns", "supported", ""),
    ("transactions", "supported", ""),
    ("exchange-to-exchange bindings, alternate exchanges", "supported", ""),
    ("dead-lettering, message and queue TTL, length limits", "supported", "on the virtual clock"),
    ("priority queues, consumer priorities, single active consumer", "supported", ""),
    ("exclusive and auto-delete queues, exclusive consumers", "supported", ""),
    ("direct reply-to (`amq.rabbitmq.reply-to`)", "supported", ""),
    ("several virtual hosts and users", "partial", "every user may use every virtual host: no permissions"),
    ("broker restart: durable topology, persistent messages", "supported", "`broker.restart()`"),
    ("heartbeats", "supported", "on the virtual clock"),
    ("quorum queues", "partial", "see `x-queue-type`"),
    ("streams, policies, operator policies", "unsupported", ""),
    ("clustering, federation, shovel, management HTTP API", "unsupported", "memq's inspection API instead"),
    ("memory and disk alarms, flow control", "unsupported", ""),
)

_HEADER = """# Supported features

<!-- Generated by `scripts/supported` from memq/_supported.py; edit that module, not this page. -->

What memq models of RabbitMQ 3.10, as seen by an AMQP 0-9-1 client. "supported" means it behaves as
RabbitMQ does, which the conformance suite and the differential test check against a real broker;
"validated" means memq checks the value as RabbitMQ does and nothing else depends on it; "ignored" means it
is accepted and has no effect (cluster and storage tuning); anything memq does not model raises
`memq.errors.Unsupported` rather than being approximated. The deliberate differences are
in [Differences from RabbitMQ](differences.md).
"""

_FOOTER = """## How this is checked

Each "supported" row is exercised by `tests/conformance/` (every test runs on memq and on RabbitMQ) and by a
differential state machine that sends the same generated operations, valid and invalid, to memq and to a
real RabbitMQ 3.10 through pika and compares every reply, delivery, error and closed channel:

```bash
scripts/test tests/stateful/test_differential.py                  # the quick run, as in CI
HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest tests/stateful/test_differential.py   # 10,000 examples
```

Both need RabbitMQ on 127.0.0.1:5672 (guest/guest). Failing examples are kept in `.hypothesis/` and replayed
first on the next run; each difference found becomes a named test in `tests/conformance/test_regressions.py`.
"""


_HARD_REPLIES = ("login_refused",)
"""Replies raised as hard errors although their class is soft (RabbitMQ refuses a login on the connection)."""


def _table(headers: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _queue_arguments() -> list[Row]:
    names = list(QUEUE_ARGUMENTS)
    names += [name for refused in REFUSED_BY_TYPE.values() for name in refused if name not in names]
    return [(f"`{name}`", *QUEUE_ARGUMENT_NOTES[name]) for name in dict.fromkeys(names)]


def _replies() -> list[tuple[str, str, str]]:
    rows = []
    for key, (cls, text) in REPLIES.items():
        kind = "connection" if cls.hard or key in _HARD_REPLIES else "channel"
        rows.append((str(cls.reply_code), kind, f"`{text}`"))
    return sorted(rows, key=lambda row: (int(row[0]), row[2]))


def render() -> str:
    """The Markdown of docs/supported.md."""
    sections = [
        _HEADER,
        "## AMQP methods\n\n" + _table(("method", "memq", "notes"), METHODS),
        "## Exchange types\n\n" + _table(
            ("type", "memq", "notes"),
            [(f"`{kind.value}`", "supported", EXCHANGE_TYPES[kind.value]) for kind in ExchangeType]
            + [(f"`{name}`", "unsupported", note) for name, note in UNSUPPORTED_EXCHANGE_TYPES.items()]),
        "## Exchange arguments\n\n" + _table(("argument", "memq", "notes"), EXCHANGE_ARGUMENTS),
        "## Queue arguments\n\nUnless marked ignored, each is validated as RabbitMQ 3.10 validates it (type, range, "
        "queue type), with RabbitMQ's 406 texts, and compared on redeclaration.\n\n"
        + _table(("argument", "memq", "notes"), _queue_arguments()),
        "## Consumer arguments\n\n" + _table(("argument", "memq", "notes"), CONSUMER_ARGUMENTS),
        "## Message properties\n\nAll fourteen basic properties are carried unchanged from publisher to "
        "consumer; these are the ones the broker acts on.\n\n" + _table(
            ("property", "notes"),
            [(f"`{name}`", PROPERTY_NOTES.get(name, "carried unchanged")) for name in PROPERTY_NAMES]),
        "## Headers the broker adds\n\n" + _table(("header", "memq", "notes"), BROKER_HEADERS),
        "## Features\n\n" + _table(("feature", "memq", "notes"), FEATURES),
        "## Reply codes and texts\n\nThe texts in memq's table of replies, byte for byte as RabbitMQ 3.10 words "
        "them (`{...}` are filled in); the argument and expiration checks word theirs as RabbitMQ does too "
        "(`PRECONDITION_FAILED - invalid arg ...`). Over 255 bytes, a text is cut as RabbitMQ cuts it.\n\n"
        + _table(("code", "closes", "reply text"), _replies()),
        _FOOTER,
    ]
    return "\n\n".join(section.strip() for section in sections) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m memq._supported [--write PATH | --check PATH]`: print, write or check the page."""
    parser = argparse.ArgumentParser(prog="python -m memq._supported", description=main.__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PATH", help="write the page to PATH")
    group.add_argument("--check", metavar="PATH", help="exit 1 if PATH differs from the generated page")
    args = parser.parse_args(argv)
    page = render()
    if args.write:
        Path(args.write).write_text(page, encoding="utf-8")
    elif args.check:
        if Path(args.check).read_text(encoding="utf-8") != page:
            sys.stderr.write(f"{args.check} is stale: run scripts/supported\n")
            return 1
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
