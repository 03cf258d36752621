"""Strategies for the differential state machine: names, routing keys, arguments and properties.

Everything generated here is *logical*: a queue is named by a slot ("q0", "gen1", "long255", ...) that each
broker side resolves to a real name (the per-example prefix plus the slot, or the server-generated name), so
the same generated operation means the same thing on memq and on RabbitMQ.

Times are kept short (tens to a few hundred milliseconds) because RabbitMQ's side of every wait is real.
"""

from __future__ import annotations

import datetime
import decimal

from hypothesis import strategies as st

try:  # the public strategies, when memq ships them
    from memq.strategies import routing_keys as _public_routing_keys
    from memq.strategies import topic_patterns as _public_topic_patterns
except ImportError:  # pragma: no cover - depends on the checkout
    _public_routing_keys = _public_topic_patterns = None



def mostly(usual: st.SearchStrategy, odd: st.SearchStrategy, ratio: int = 9) -> st.SearchStrategy:
    """`usual` about `ratio` times in `ratio + 1`, else `odd`: invalid input often enough to be tried, rarely
    enough that most operations of an example still do something."""
    return st.one_of([usual] * ratio + [odd])


# --- names ----------------------------------------------------------------------------------------

QUEUE_SLOTS = ("q0", "q1", "q2")
SERVER_NAMED_SLOTS = ("gen0", "gen1")
EXCHANGE_SLOTS = ("x0", "x1", "x2")
# Names that probe limits: exactly 255 bytes, 256 bytes (pika refuses to encode it), multi-byte UTF-8, a
# reserved prefix, CR and LF (RabbitMQ strips them), the empty name (the channel's last declared queue, or the
# default exchange).
ODD_NAME_SLOTS = ("long255", "long256", "unicode", "reserved", "crlf")

queue_slots = mostly(st.sampled_from(QUEUE_SLOTS * 3 + SERVER_NAMED_SLOTS),
                     st.sampled_from(ODD_NAME_SLOTS + ("",)))
"""A queue to operate on: mostly a pool slot or a server-named queue, sometimes an odd name."""

declared_queue_slots = mostly(st.sampled_from(QUEUE_SLOTS + QUEUE_SLOTS + ("",)),
                              st.sampled_from(tuple(slot for slot in ODD_NAME_SLOTS if slot != "crlf")))
"""A name to declare: "" asks the server for a name. (RabbitMQ 3.10 never answers a queue.declare whose name
has CR or LF in it, so those are left out here.)"""

exchange_slots = mostly(st.sampled_from(EXCHANGE_SLOTS + EXCHANGE_SLOTS + ("",)),
                        st.sampled_from(("missing",) + ODD_NAME_SLOTS))
"""An exchange to bind or publish to. Never a predeclared `amq.*` one: RabbitMQ is shared, and a binding to
`amq.topic` would let other users' messages in (and ours out)."""

declared_exchange_slots = mostly(exchange_slots, st.sampled_from(
    ("amq.direct", "amq.topic", "amq.fanout", "amq.headers", "amq.match")
))
"""An exchange to declare or delete: the predeclared ones are fine here (passive, equivalence, 403)."""

EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")
exchange_types = mostly(st.sampled_from(EXCHANGE_TYPES), st.sampled_from(("bogus", "Direct", "")), ratio=19)
"""An exchange type; rarely one RabbitMQ does not know (that closes the connection)."""

# --- routing keys and binding patterns ------------------------------------------------------------

# Words chosen to collide often and to reach the corners of topic matching: empty words, wildcards as
# whole words and inside words, multi-byte characters.
_KEY_WORDS = ("a", "b", "a", "b", "", "ab", "*a", "a#", "#a", "**", "é", "ü€")
_PATTERN_WORDS = ("a", "b", "*", "#", "*", "#", "", "ab", "*a", "a#", "##", "é")


def _long(unit: str, size: int) -> str:
    """A dotted key of exactly `size` UTF-8 bytes built from `unit` words."""
    text = ""
    while len((text + "." + unit).encode()) <= size:
        text = f"{text}.{unit}" if text else unit
    return text + "a" * (size - len(text.encode()))


_LONG_KEYS = (_long("a", 255), _long("é", 255), _long("#", 255), _long("a", 256), _long("é", 256))


def _dotted(words: tuple[str, ...], max_words: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(words), max_size=max_words).map(".".join)


def routing_keys() -> st.SearchStrategy[str]:
    """Routing keys: short dotted words with empty words and wildcard look-alikes, and 255/256-byte keys."""
    local = _dotted(_KEY_WORDS, 4)
    if _public_routing_keys is not None:
        local = local | _public_routing_keys()
    return local | st.sampled_from(_LONG_KEYS)


def topic_patterns() -> st.SearchStrategy[str]:
    """Binding keys: `#` at every position, `#.#`, `*` next to `#`, and the same odd words as the keys."""
    local = _dotted(_PATTERN_WORDS, 4) | st.sampled_from(("#", "#.#", "*.#", "#.*", "*.#.*", "a.#.b", "#.a.#"))
    if _public_topic_patterns is not None:
        local = local | _public_topic_patterns()
    return local | st.sampled_from(_LONG_KEYS)


# A key is either a literal string or ("queue", slot): the real name of a queue (for the default exchange,
# for direct bindings and for x-dead-letter-routing-key).
keys = routing_keys() | st.tuples(st.just("queue"), queue_slots)
binding_keys = topic_patterns() | st.tuples(st.just("queue"), queue_slots)

# --- headers ---------------------------------------------------------------------------------------

_HEADER_NAMES = ("a", "b", "x-foo")
_HEADER_VALUES = st.sampled_from([1, 2, "1", "a", True, None, b"1", 2**40])

header_tables = st.dictionaries(st.sampled_from(_HEADER_NAMES), _HEADER_VALUES, max_size=3)
"""Message headers that headers-exchange bindings can match, types and all."""

binding_arguments = st.one_of(
    st.just({}),
    st.builds(
        lambda match, table: ({"x-match": match} if match is not None else {}) | table,
        st.sampled_from([None, "all", "any", "all-with-x", "any-with-x", "all", "any", "bogus"]),
        header_tables,
    ),
)
"""Binding arguments; `x-match` is checked only by headers exchanges, but every binding keeps its arguments."""

# Values whose AMQP encoding loses or changes something: a tuple comes back as a list, a datetime loses its
# microseconds, a Decimal keeps its exponent, a nested table stays a table.
_ODD_HEADER_VALUES = st.sampled_from([
    (1, "a"),
    [1, [2, 3]],
    datetime.datetime(2022, 10, 1, 12, 30, 45, 123456),
    decimal.Decimal("1.50"),
    {"nested": {"k": "v"}},
    "",
    -(2**63),
    bytearray(b"ba"),
])

message_headers = mostly(
    st.none() | header_tables,
    st.dictionaries(st.sampled_from(_HEADER_NAMES + ("odd", "x-death")), _ODD_HEADER_VALUES, max_size=2),
    ratio=4,
)

# --- queue and exchange arguments -----------------------------------------------------------------

TTLS = (0, 50, 120, 250)
"""Message TTLs in ms: long enough to be observed on the real broker, short enough to keep examples quick."""

_DEAD_LETTER_EXCHANGES = st.sampled_from(EXCHANGE_SLOTS + ("", "missing"))

_QUEUE_ARGUMENT_VALUES: dict[str, st.SearchStrategy] = {
    "x-message-ttl": mostly(st.sampled_from(TTLS), st.sampled_from([-1, "100"])),
    "x-expires": mostly(st.sampled_from([150, 300]), st.sampled_from([0, -5, "x"])),
    "x-max-length": mostly(st.integers(0, 3), st.just(-1)),
    "x-max-length-bytes": st.sampled_from([0, 3, 10]),
    "x-overflow": mostly(st.sampled_from(["drop-head", "reject-publish", "reject-publish-dlx"]), st.just("bogus")),
    "x-dead-letter-exchange": mostly(st.tuples(st.just("exchange"), _DEAD_LETTER_EXCHANGES), st.just(5)),
    "x-dead-letter-routing-key": keys,
    "x-max-priority": mostly(st.sampled_from([0, 2, 5]), st.sampled_from([256, "5"])),
    "x-single-active-consumer": mostly(st.booleans(), st.just(1)),
    "x-queue-mode": mostly(st.sampled_from(["default", "lazy"]), st.just("bogus")),
    "x-queue-type": mostly(st.just("classic"), st.sampled_from(["quorum", "bogus"]), ratio=3),
    "x-delivery-limit": st.integers(0, 2),
    "other": st.just("ignored"),
}

queue_arguments = st.dictionaries(
    st.sampled_from(sorted(_QUEUE_ARGUMENT_VALUES)), st.none(), max_size=4
).flatmap(
    lambda chosen: st.fixed_dictionaries({key: _QUEUE_ARGUMENT_VALUES[key] for key in chosen})
)
"""Queue arguments: a few keys at a time, mostly valid values, sometimes wrong ones (negative, wrong type)."""

_VALID_QUEUE_ARGUMENT_VALUES: dict[str, st.SearchStrategy] = {
    "x-message-ttl": st.sampled_from(TTLS),
    "x-max-length": st.integers(0, 3),
    "x-max-length-bytes": st.sampled_from([3, 10]),
    "x-overflow": st.sampled_from(["drop-head", "reject-publish", "reject-publish-dlx"]),
    "x-dead-letter-exchange": st.tuples(st.just("exchange"), st.sampled_from(EXCHANGE_SLOTS + ("",))),
    "x-dead-letter-routing-key": st.tuples(st.just("queue"), st.sampled_from(QUEUE_SLOTS)),
    "x-max-priority": st.sampled_from([2, 5]),
}

valid_queue_arguments = st.dictionaries(
    st.sampled_from(sorted(_VALID_QUEUE_ARGUMENT_VALUES)), st.none(), max_size=3
).flatmap(
    lambda chosen: st.fixed_dictionaries({key: _VALID_QUEUE_ARGUMENT_VALUES[key] for key in chosen})
).filter(lambda arguments: "x-dead-letter-routing-key" not in arguments or "x-dead-letter-exchange" in arguments)
"""Queue arguments RabbitMQ accepts, for the topology an example starts with."""

exchange_arguments = mostly(
    st.just({}) | st.fixed_dictionaries({"alternate-exchange": st.tuples(st.just("exchange"), _DEAD_LETTER_EXCHANGES)}),
    st.sampled_from([{"other": 1}, {"alternate-exchange": 5}]),
)

consumer_arguments = st.one_of(st.just({}), st.fixed_dictionaries({"x-priority": st.integers(-1, 2)}))

# --- messages ------------------------------------------------------------------------------------

expirations = mostly(st.sampled_from(["0", "50", "120", "250"]), st.sampled_from(["abc", "-1", "1.5", " 5"]))

properties = st.fixed_dictionaries(
    {},
    optional={
        "content_type": st.sampled_from(["text/plain", "application/json", ""]),
        "content_encoding": st.just("utf-8"),
        "headers": message_headers,
        "delivery_mode": st.sampled_from([1, 2]),
        "priority": st.integers(0, 7),
        "correlation_id": st.sampled_from(["c1", "é"]),
        "reply_to": mostly(st.just("somewhere"), st.just("amq.rabbitmq.reply-to")),
        "expiration": expirations,
        "message_id": st.just("m1"),
        "timestamp": st.sampled_from([0, 1_600_000_000]),
        "type": st.just("t"),
        "user_id": mostly(st.just("guest"), st.just("someone")),
        "app_id": st.just("app"),
        "cluster_id": st.just("cluster"),
    },
)
"""`pika.BasicProperties` keyword arguments."""

bodies = st.sampled_from([b"", b"x", b"0123456789"]) | st.binary(max_size=4) | st.just(b"z" * 140_000)
"""Message bodies; the large one spans several frames."""

delivery_tags = mostly(st.sampled_from(["last", "first", "first", 0]), st.integers(0, 6), ratio=3)
"""A delivery tag: a number (0, known or unknown) or the channel's last / first outstanding one."""

elapsed_ms = st.sampled_from(["next", "next", 40, 130])
"""How long an `elapse` step lets time pass: until memq's next timer, or a number of milliseconds."""
