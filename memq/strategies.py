"""Hypothesis strategies for property-based tests of routing: keys, binding keys, headers, messages, topologies.

Each strategy shrinks towards short, plain values (a routing key towards `""`, then `"a"`; a headers table
towards `{}`; a topology towards one exchange, one queue, one binding), and reaches the corners where routing
code goes wrong: empty words, `#` at every position, `#.#`, `*` next to `#`, literal words that look like
wildcards (`a*`, `#a`), non-ASCII words, keys of exactly 255 UTF-8 bytes (the AMQP short-string limit),
`x-match` of every kind, void (None) binding values, header values of different types that RabbitMQ compares
as equal or not.

This module imports Hypothesis; `import memq` does not. See docs/strategies.md for a guide.

Example:
    >>> from hypothesis import given
    >>> from memq import strategies as mst
    >>> @given(key=mst.routing_keys_matching("kern.*"))
    ... def test_kern_messages_reach_kern(key):
    ...     assert key.startswith("kern.")
"""

from __future__ import annotations

import calendar
import datetime
import decimal
import functools
from typing import Any, Mapping, Sequence

from hypothesis import strategies as st

from ._exchanges import split_topic_key
from ._messages import PROPERTY_NAMES, Properties
from .errors import InvalidArgument
from .testing import (
    PREDECLARED_EXCHANGES, Binding, Exchange, Message, Queue, Topology, headers_match, topic_matches,
)

__all__ = [
    "MAX_SHORT_STRING",
    "EXCHANGE_TYPES",
    "X_MATCH_KINDS",
    "routing_keys",
    "topic_patterns",
    "routing_keys_matching",
    "routing_keys_not_matching",
    "header_values",
    "headers_tables",
    "headers_binding_arguments",
    "headers_matching",
    "headers_not_matching",
    "properties",
    "messages",
    "topologies",
    "messages_for",
]

MAX_SHORT_STRING = 255
"""The longest routing key, binding key or name AMQP can carry, in UTF-8 bytes."""
EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")
X_MATCH_KINDS = ("all", "any", "all-with-x", "any-with-x")

# Words, first the ones shrinking ends on, then the ones routing code gets wrong.
_PLAIN_WORDS = ("a", "b", "c")
_ODD_WORDS = ("", "*", "#", "a*", "*a", "#a", "a#", "**", "#*", "A", " ", "é", "日本", "🐇", "\t")
_WILDCARDS = ("#", "*")
# Pieces of binding keys that have been wrong in topic routers: adjacent wildcards, `#` at either end.
_PATTERN_PIECES = ("#.#", "*.#", "#.*", "*.#.*", "#.a.#", "a.#.b", "a.#.#.b", "a..b", "#.", ".#", "*.*", ".")
# Characters of 1, 2, 3 and 4 UTF-8 bytes, to pad a key to exactly the byte limit.
_FILLERS = ("a", "é", "日", "🐇")

_WORD_CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters=".")
_KEY_WORDS = st.one_of(
    st.sampled_from(_PLAIN_WORDS), st.sampled_from(_ODD_WORDS), st.text(_WORD_CHARACTERS, min_size=1, max_size=10)
)
_SMALL_WORDS = st.sampled_from(("a", "b", "", "*", "#", "é"))
_FILLER_CHARACTERS = st.sampled_from(_FILLERS)
# How a drawn key is finished: 0-5 as drawn, 6 with one more short word, 7 padded to exactly the byte limit.
# A padded key shrinks to a short word of the same characters (`ééé...é` -> `é`), then to no word.
_FINISH = st.integers(0, 7)
_SHORT, _TO_LIMIT = 6, 7


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _fits(max_bytes: int) -> Any:
    return lambda text: _size(text) <= max_bytes


def _filler_word(filler: str, room: int) -> str:
    """A word of exactly `room` UTF-8 bytes, made of `filler` characters topped up with `a`s."""
    width = _size(filler)
    return filler * (room // width) + "a" * (room % width)


def _padded(key: str, filler: str, max_bytes: int) -> str:
    """`key` with one more word that makes it exactly `max_bytes` long (`key` itself if there is no room)."""
    prefix = key + "." if key else ""
    room = max_bytes - _size(prefix)
    return key if room < 0 else prefix + _filler_word(filler, room)


@st.composite
def _sometimes_padded(draw: Any, texts: st.SearchStrategy[str], max_bytes: int) -> str:
    """A key from `texts`, sometimes with one more word: of one character, or making it `max_bytes` long."""
    text = draw(texts)
    finish = draw(_FINISH)
    if finish < _SHORT:
        return text
    filler = draw(_FILLER_CHARACTERS)
    if finish == _SHORT:
        return f"{text}.{filler}" if text else filler
    return _padded(text, filler, max_bytes)


def _first_words(key: str, count: int) -> str:
    return ".".join(split_topic_key(key)[:count])


def _check_limits(max_words: int, max_bytes: int) -> None:
    if max_words < 0 or max_bytes < 0:
        raise InvalidArgument(f"max_words and max_bytes must not be negative, got {max_words} and {max_bytes}")


# --- topic and direct keys -----------------------------------------------------------------------

def routing_keys(*, words: st.SearchStrategy[str] | None = None, max_words: int = 6,
                 max_bytes: int = MAX_SHORT_STRING) -> st.SearchStrategy[str]:
    """Routing keys: words joined by `.`, at most `max_bytes` UTF-8 bytes.

    Words are `a`, `b`, `c`, then odd ones: the empty word, literal `*` and `#`, `a*`, `#a`, capitals,
    spaces, accents, CJK, emoji, arbitrary text without dots. Some keys are padded to exactly `max_bytes`.

    Args:
        words: the words to use (strings without `.`); default as above.
        max_words: the most words before padding.
        max_bytes: the longest key, in UTF-8 bytes (AMQP allows 255).

    Shrinks towards `""` (no words), then `"a"`, then `"a.a"`.
    """
    _check_limits(max_words, max_bytes)
    words = _KEY_WORDS if words is None else words
    keys = st.lists(words, max_size=max_words).map(".".join)
    return _sometimes_padded(keys, max_bytes).filter(_fits(max_bytes))


def topic_patterns(*, words: st.SearchStrategy[str] | None = None, max_words: int = 6,
                   max_bytes: int = MAX_SHORT_STRING) -> st.SearchStrategy[str]:
    """Topic binding keys: literal words, `*`, `#`, and pieces such as `#.#`, `*.#`, `a.#.b`, `#.`, `a..b`.

    Args:
        words: the literal words (strings without `.`); `*` and `#` are mixed in. Default: as `routing_keys`,
            whose odd words (`a*`, `#a`, `**`) are literal words in a binding key too.
        max_words: the most words in a binding key (a router's work can grow fast with the number of `#`).
        max_bytes: the longest binding key, in UTF-8 bytes.

    Shrinks towards `""`, then `"a"`, then `"#"` and `"*"`.
    """
    _check_limits(max_words, max_bytes)
    literal = _KEY_WORDS if words is None else words
    pieces = [literal, st.sampled_from(_WILDCARDS)]
    if words is None:
        pieces.append(st.sampled_from(_PATTERN_PIECES))
    patterns = st.lists(st.one_of(pieces), max_size=max_words).map(
        lambda parts: _first_words(".".join(parts), max_words))
    return _sometimes_padded(patterns, max_bytes).filter(_fits(max_bytes))


def _joined(fills: Sequence[Sequence[str]]) -> str:
    return ".".join(word for fill in fills for word in fill)


def _fit(pattern: Sequence[str], fills: list[list[str]], max_bytes: int) -> None:
    """Empty the wildcards' words, from the last, until the key fits in `max_bytes`."""
    for i in reversed(range(len(pattern))):
        if _size(_joined(fills)) <= max_bytes:
            return
        if pattern[i] in _WILDCARDS:
            fills[i] = [] if pattern[i] == "#" else [""]


def _pad_last_wildcard(pattern: Sequence[str], fills: list[list[str]], filler: str, max_bytes: int | None) -> None:
    """Give the last wildcard a word of `filler`s: one character (`max_bytes` None), or as many as make the key
    exactly `max_bytes` long, when the rest leaves room."""
    i = max(j for j, word in enumerate(pattern) if word in _WILDCARDS)
    fills[i] = fills[i] + [filler] if pattern[i] == "#" else [filler]
    if max_bytes is not None:
        fills[i][-1] = ""
        room = max_bytes - _size(_joined(fills))
        if room >= 0:
            fills[i][-1] = _filler_word(filler, room)


def _representable(pattern: Sequence[str], fills: list[list[str]]) -> None:
    """Avoid a key of one empty word: written down it is `""`, which has no words at all."""
    if [word for fill in fills for word in fill] != [""] or all(word == "#" for word in pattern):
        return
    if "#" in pattern:
        i = pattern.index("#")
        fills[i] = fills[i] + [""]
    else:  # the binding key is `*`
        fills[pattern.index("*")] = ["a"]


@functools.lru_cache(maxsize=64)
def _word_lists(words: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """Zero to three words: what a `#` stands for (one strategy object per `words`: cheaper to draw from)."""
    return st.lists(words, max_size=3)


@st.composite
def _keys_matching(draw: Any, pattern: list[str], words: st.SearchStrategy[str], max_bytes: int) -> str:
    fills: list[list[str]] = []
    for word in pattern:
        if word == "#":
            fills.append(list(draw(_word_lists(words))))
        elif word == "*":
            fills.append([draw(words)])
        else:
            fills.append([word])
    finish = draw(_FINISH) if any(word in _WILDCARDS for word in pattern) else 0
    if finish >= _SHORT:
        _pad_last_wildcard(pattern, fills, draw(_FILLER_CHARACTERS), max_bytes if finish == _TO_LIMIT else None)
    _fit(pattern, fills, max_bytes)
    _representable(pattern, fills)
    return _joined(fills)


def _shortest_match(pattern: list[str]) -> str:
    fills = [[] if word == "#" else [""] if word == "*" else [word] for word in pattern]
    _representable(pattern, fills)
    return _joined(fills)


def routing_keys_matching(pattern: str, *, words: st.SearchStrategy[str] | None = None,
                          max_bytes: int = MAX_SHORT_STRING) -> st.SearchStrategy[str]:
    """Routing keys that the topic binding key `pattern` matches, built word by word from it.

    Each `*` becomes one word, each `#` zero to three words (from `words`, default as `routing_keys`); some
    keys are padded through a wildcard to exactly `max_bytes`.

    Raises:
        errors.InvalidArgument: even the shortest matching key is longer than `max_bytes`.

    Shrinks towards the shortest key: `#` matching no word, `*` matching `"a"`.

    Example: `routing_keys_matching("kern.*")` gives `kern.a`, `kern.`, `kern.#`, `kern.日本`, ...
    """
    words_of_pattern = split_topic_key(pattern)
    if _size(_shortest_match(words_of_pattern)) > max_bytes:
        raise InvalidArgument(f"no routing key of at most {max_bytes} bytes matches {pattern!r}")
    return _keys_matching(words_of_pattern, _KEY_WORDS if words is None else words, max_bytes)


@st.composite
def _changed_key(draw: Any, keys: st.SearchStrategy[str], words: st.SearchStrategy[str]) -> str:
    """A key one word away from one of `keys`: a word dropped, added or changed."""
    key_words = split_topic_key(draw(keys))
    change = draw(st.sampled_from(("drop", "add", "change")))
    where = draw(st.integers(0, len(key_words)))
    if change == "add" or not key_words:
        key_words.insert(where, draw(words))
    elif change == "drop":
        del key_words[min(where, len(key_words) - 1)]
    else:
        key_words[min(where, len(key_words) - 1)] = draw(words)
    return ".".join(key_words)


def routing_keys_not_matching(pattern: str, *, words: st.SearchStrategy[str] | None = None,
                              max_bytes: int = MAX_SHORT_STRING) -> st.SearchStrategy[str]:
    """Routing keys that the topic binding key `pattern` does not match.

    Mostly near misses (a matching key with one word dropped, added or changed), also arbitrary keys.

    Raises:
        errors.InvalidArgument: `pattern` matches every key (it is only `#` words).

    Shrinks towards a near miss of the shortest matching key (`kern.*` -> `kern`), or `""`.
    """
    words_of_pattern = split_topic_key(pattern)
    if words_of_pattern and all(word == "#" for word in words_of_pattern):
        raise InvalidArgument(f"every routing key matches {pattern!r}")
    words = _KEY_WORDS if words is None else words
    near = _changed_key(_keys_matching(words_of_pattern, words, max_bytes), words)
    anywhere = routing_keys(words=words, max_bytes=max_bytes)
    return st.one_of(near, anywhere).filter(
        lambda key: _size(key) <= max_bytes and not topic_matches(pattern, key))


# --- headers -------------------------------------------------------------------------------------

_HEADER_KEYS = ("a", "b", "c")
_ODD_HEADER_KEYS = ("x-a", "X-a", "x-", "", "é", "a.b", "x-match")
_ODD_BINDING_KEYS = ("x-a", "x-b", "X-a", "x-", "", "é")
# Values that collide often, of types RabbitMQ tells apart (1, "1", True) or not ("a", b"a").
_COMMON_VALUES = (1, "a", None, True, 0, "", "1", b"a", False, 2**40)
_UTC = datetime.timezone.utc
_MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z


_SCALAR_VALUES = st.one_of(
    st.sampled_from(_COMMON_VALUES),
    st.integers(-(2**63), 2**63 - 1),
    st.text(st.characters(codec="utf-8"), max_size=8),
    st.binary(max_size=8),
    st.datetimes(datetime.datetime(1970, 1, 1), datetime.datetime(2100, 1, 1), timezones=st.just(_UTC)),
    st.decimals(-(10**6), 10**6, allow_nan=False, allow_infinity=False, places=2),
)
_NESTED_VALUES = st.recursive(
    _SCALAR_VALUES,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(_HEADER_KEYS), inner, max_size=3)),
    max_leaves=4,
)


def header_values(*, nested: bool = True) -> st.SearchStrategy[Any]:
    """Header and binding-argument values pika can send: str, int (64 bit), bool, None, bytes, timestamps
    (UTC datetimes), decimals, and (with `nested`) lists and tables of these.

    Shrinks towards `1`, then `"a"`, then `None`.
    """
    return _NESTED_VALUES if nested else _SCALAR_VALUES


def _header_keys(odd: Sequence[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(_HEADER_KEYS), st.sampled_from(odd),
                     st.text(st.characters(codec="utf-8"), max_size=8))


def headers_tables(*, keys: st.SearchStrategy[str] | None = None, values: st.SearchStrategy[Any] | None = None,
                   min_size: int = 0, max_size: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    """Message headers: tables of `keys` (default: `a`, `b`, `c`, `x-` keys, `X-a`, `""`, unicode) to `values`
    (default: `header_values()`).

    Shrinks towards `{}`, then `{"a": 1}`.
    """
    return st.dictionaries(_header_keys(_ODD_HEADER_KEYS) if keys is None else keys,
                           header_values() if values is None else values, min_size=min_size, max_size=max_size)


def _with_kind(kind: str | None, table: Mapping[str, Any]) -> dict[str, Any]:
    return {"x-match": kind, **table} if kind is not None else dict(table)


def headers_binding_arguments(
    *, keys: st.SearchStrategy[str] | None = None, values: st.SearchStrategy[Any] | None = None,
    max_size: int = 3, kinds: Sequence[str | None] = (None, *X_MATCH_KINDS),
) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments of a headers-exchange binding: an `x-match` of one of `kinds` (None: no `x-match`, which
    means `all`) and up to `max_size` keys to compare, some starting with `x-`, some void (None: the header
    need only be present).

    Shrinks towards `{}`, then `{"a": 1}`.
    """
    bad = [kind for kind in kinds if kind is not None and kind not in X_MATCH_KINDS]
    if bad:
        raise InvalidArgument(f"x-match is one of {', '.join(X_MATCH_KINDS)}, not {bad[0]!r}")
    keys = _header_keys(_ODD_BINDING_KEYS) if keys is None else keys
    table = st.dictionaries(keys.filter(lambda key: key != "x-match"),
                            header_values() if values is None else values, max_size=max_size)
    return st.builds(_with_kind, st.sampled_from(kinds), table)


def _compared(arguments: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The `x-match` kind of a headers binding and the arguments it compares."""
    kind = arguments.get("x-match", "all")
    if kind not in X_MATCH_KINDS:
        raise InvalidArgument(f"x-match is one of {', '.join(X_MATCH_KINDS)}, not {kind!r}")
    with_x = kind.endswith("-with-x")
    compared = {k: v for k, v in arguments.items() if k != "x-match" and (with_x or not k.startswith("x-"))}
    return kind, compared


def _equal_forms(value: Any) -> list[Any]:
    """`value` and values of other Python types that RabbitMQ's headers exchange counts as equal to it."""
    forms = [value]
    if isinstance(value, str):
        forms.append(value.encode("utf-8"))  # longstr and byte array: both binaries
    elif isinstance(value, bytes):
        try:
            forms.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int) and 0 <= value <= _MAX_TIMESTAMP:
        forms.append(datetime.datetime.fromtimestamp(value, _UTC))  # a timestamp is its seconds
    elif isinstance(value, datetime.datetime):
        forms.append(calendar.timegm(value.utctimetuple()))
        forms.append(value.replace(microsecond=(value.microsecond + 1) % 1_000_000))  # sent as whole seconds
    elif isinstance(value, decimal.Decimal) and value.is_finite():
        forms.append(value + decimal.Decimal("0.000"))  # the same number, another exponent
    elif isinstance(value, (dict, list)) and not value:
        forms.append([] if isinstance(value, dict) else {})  # an empty table is an empty array
    return forms


def _matching_value(expected: Any, values: st.SearchStrategy[Any], equivalents: bool) -> st.SearchStrategy[Any]:
    if expected is None:
        return values  # void: any value will do, the header need only be present
    return st.sampled_from(_equal_forms(expected)) if equivalents else st.just(expected)


@st.composite
def _headers_matching(draw: Any, compared: dict[str, Any], any_kind: bool, values: st.SearchStrategy[Any],
                      extra: st.SearchStrategy[dict[str, Any]], equivalents: bool) -> dict[str, Any]:
    names = list(compared)
    if any_kind:
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    else:
        chosen = names
    headers = {name: draw(_matching_value(compared[name], values, equivalents)) for name in chosen}
    for key, value in draw(extra).items():
        if key not in compared:
            headers.setdefault(key, value)
    return headers


def headers_matching(binding_arguments: Mapping[str, Any], *, values: st.SearchStrategy[Any] | None = None,
                     extra: st.SearchStrategy[dict[str, Any]] | None = None,
                     equivalents: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Message headers that a headers-exchange binding with these arguments matches.

    `all`: every compared argument is present with its value (any value for a void one); `any`: at least one.
    Arguments starting with `x-` are compared only by the `-with-x` kinds. `extra` headers (default:
    `headers_tables()`) are added under other keys.

    Args:
        equivalents: also use values of other types that RabbitMQ counts as equal (`b"a"` for `"a"`, a UTC
            datetime for an int of seconds, `[]` for `{}`). Off by default: a consumer may not expect them.

    Raises:
        errors.InvalidArgument: no headers match (`any` with nothing to compare), or `x-match` is invalid.

    Shrinks towards the fewest headers: `{"x-match": "any", "a": 1, "b": 2}` -> `{"a": 1}`.
    """
    kind, compared = _compared(binding_arguments)
    if kind.startswith("any") and not compared:
        raise InvalidArgument(f"no headers match {dict(binding_arguments)!r}: x-match {kind} of nothing")
    extra = headers_tables(max_size=2) if extra is None else extra
    return _headers_matching(compared, kind.startswith("any"), header_values() if values is None else values,
                             extra, equivalents)


def _different_value(expected: Any, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values that never equal `expected` in a headers match (another kind first: shrinks readably)."""
    other_kind = st.integers(0, 9) if isinstance(expected, (str, bytes)) else st.sampled_from(("", "a", "b"))
    return st.one_of(other_kind, values.filter(
        lambda value: value is not None and not headers_match({"k": expected}, {"k": value})))


@st.composite
def _headers_not_matching(draw: Any, compared: dict[str, Any], any_kind: bool, values: st.SearchStrategy[Any],
                          extra: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    names = list(compared)
    headers = {name: draw(_matching_value(compared[name], values, False)) for name in names}
    broken = names if any_kind else [draw(st.sampled_from(names))]
    for name in broken:
        if compared[name] is None or draw(st.booleans()):
            del headers[name]
        else:
            headers[name] = draw(_different_value(compared[name], values))
    for key, value in draw(extra).items():
        if key not in compared:
            headers.setdefault(key, value)
    return headers


def headers_not_matching(
    binding_arguments: Mapping[str, Any], *, values: st.SearchStrategy[Any] | None = None,
    extra: st.SearchStrategy[dict[str, Any]] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Message headers that a headers-exchange binding with these arguments does not match.

    `all`: one compared argument missing or different; `any`: every one missing or different.

    Raises:
        errors.InvalidArgument: every message matches (`all` with nothing to compare), or `x-match` is invalid.

    Shrinks towards `{}` or one wrong value.
    """
    kind, compared = _compared(binding_arguments)
    if not kind.startswith("any") and not compared:
        raise InvalidArgument(f"every message matches {dict(binding_arguments)!r}: x-match {kind} of nothing")
    extra = headers_tables(max_size=2) if extra is None else extra
    arguments = dict(binding_arguments)
    return _headers_not_matching(compared, kind.startswith("any"), header_values() if values is None else values,
                                 extra).filter(lambda headers: not headers_match(arguments, headers))


# --- properties and messages ---------------------------------------------------------------------

_SHORT_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


def _default_property_strategies() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "content_type": st.sampled_from(("text/plain", "application/json", "application/octet-stream")),
        "content_encoding": st.sampled_from(("utf-8", "gzip")),
        "headers": headers_tables(),
        "delivery_mode": st.sampled_from((1, 2)),
        "priority": st.integers(0, 255),
        "correlation_id": _SHORT_TEXT,
        "reply_to": _SHORT_TEXT,
        "expiration": st.integers(0, 86_400_000).map(str),
        "message_id": _SHORT_TEXT,
        "timestamp": st.integers(0, 2**32 - 1),
        "type": _SHORT_TEXT,
        "app_id": _SHORT_TEXT,
    }


def properties(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Properties]:
    """`memq.Properties` with some fields set: each field is absent (None) or drawn from its strategy.

    A field passed as a keyword is always drawn from the strategy given (`headers=headers_tables(min_size=1)`;
    `expiration=st.none()` leaves it out). By default `user_id` and `cluster_id` stay None (RabbitMQ refuses a
    `user_id` other than the connection's user) and `expiration` is a valid per-message TTL in milliseconds.

    Raises:
        errors.InvalidArgument: an unknown field name.

    Shrinks towards `Properties()`.
    """
    unknown = [name for name in fields if name not in PROPERTY_NAMES]
    if unknown:
        raise InvalidArgument(f"Properties has no field {unknown[0]!r}")
    drawn = {name: st.one_of(st.none(), strategy) for name, strategy in _default_property_strategies().items()}
    return st.builds(Properties, **{**drawn, **fields})


_properties = properties


def messages(*, routing_key: st.SearchStrategy[str] | None = None, body: st.SearchStrategy[bytes] | None = None,
             properties: st.SearchStrategy[Properties] | None = None) -> st.SearchStrategy[Message]:
    """`memq.testing.Message` records: a routing key (default `routing_keys()`), a body (up to 64 bytes) and
    properties (default `properties()`).

    Shrinks towards `Message('')`.
    """
    return st.builds(
        Message,
        routing_key=routing_keys() if routing_key is None else routing_key,
        body=st.binary(max_size=64) if body is None else body,
        properties=_properties() if properties is None else properties,
    )


# --- topologies ----------------------------------------------------------------------------------

_PREDECLARED_SOURCES = ("amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match")
_MISSING_EXCHANGE = "nowhere"

# Strategies made once: Hypothesis validates each strategy object the first time it draws from it.
_TOPOLOGY_KEYS = routing_keys(words=_SMALL_WORDS, max_words=2)
_TOPOLOGY_PATTERNS = topic_patterns(words=_SMALL_WORDS, max_words=3)
_TOPOLOGY_BINDING_ARGUMENTS = headers_binding_arguments(max_size=2, values=header_values(nested=False))
_AIMED_OTHER_KEYS = routing_keys(words=_SMALL_WORDS, max_words=3)
_AIMED_OTHER_HEADERS = headers_tables(max_size=2, values=header_values(nested=False))


def _present(table: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in table.items() if value is not None}


def _optional_entries(strategies: Mapping[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Tables with some of these entries: each one is left out or drawn (shrinks entry by entry to `{}`)."""
    entries = {key: st.one_of(st.none(), value) for key, value in strategies.items()}
    return st.fixed_dictionaries(entries).map(_present)


@functools.lru_cache(maxsize=64)
def _queue_arguments(exchange_names: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return _optional_entries(_queue_argument_strategies(exchange_names)).map(_valid_queue_arguments)


@functools.lru_cache(maxsize=64)
def _alternates(exchange_names: tuple[str, ...]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from((*exchange_names, "amq.fanout", _MISSING_EXCHANGE)))


def _queue_argument_strategies(exchange_names: Sequence[str]) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "x-message-ttl": st.integers(0, 60_000),
        "x-expires": st.integers(1, 3_600_000),
        "x-max-length": st.integers(0, 10),
        "x-max-length-bytes": st.integers(0, 1_000),
        "x-overflow": st.sampled_from(("drop-head", "reject-publish", "reject-publish-dlx")),
        "x-max-priority": st.integers(0, 10),
        "x-dead-letter-exchange": st.sampled_from((*exchange_names, "", _MISSING_EXCHANGE)),
        "x-dead-letter-routing-key": _TOPOLOGY_KEYS,
        "x-queue-mode": st.sampled_from(("default", "lazy")),
        "x-single-active-consumer": st.booleans(),
        "note": st.sampled_from(("", "a")),  # not an x-argument: RabbitMQ keeps it and never compares it
    }


def _valid_queue_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    if "x-dead-letter-exchange" not in arguments:
        arguments.pop("x-dead-letter-routing-key", None)
    return arguments


@st.composite
def _exchanges(draw: Any, types: list[str], alternate_exchanges: bool, flags: bool) -> list[Exchange]:
    names = [f"x{i}" for i in range(len(types))]
    made = []
    for name, kind in zip(names, types):
        arguments = {}
        if alternate_exchanges:
            alternate = draw(_alternates(tuple(names)))
            if alternate is not None:
                arguments["alternate-exchange"] = alternate
        durable, auto_delete, internal = (draw(st.booleans()) for _ in range(3)) if flags else (False,) * 3
        made.append(Exchange(name, kind, durable, auto_delete, internal, arguments))
    return made


@st.composite
def _queues(draw: Any, count: int, exchange_names: list[str], arguments: bool, flags: bool) -> list[Queue]:
    made = []
    table = _queue_arguments(tuple(exchange_names))
    for i in range(count):
        durable, exclusive, auto_delete = (draw(st.booleans()) for _ in range(3)) if flags else (False,) * 3
        queue_arguments = draw(table) if arguments else {}
        made.append(Queue(f"q{i}", durable, exclusive, auto_delete, queue_arguments))
    return made


@st.composite
def _binding(draw: Any, sources: list[str], types: Mapping[str, str], queues: list[str],
             exchanges: list[str]) -> Binding:
    source = draw(st.sampled_from(sources))
    kinds = [kind for kind, names in (("queue", queues), ("exchange", exchanges)) if names]
    kind = draw(st.sampled_from(kinds))
    destination = draw(st.sampled_from(queues if kind == "queue" else exchanges))
    arguments: dict[str, Any] = {}
    if types[source] == "topic":
        routing_key = draw(_TOPOLOGY_PATTERNS)
    else:
        routing_key = draw(_TOPOLOGY_KEYS)
    if types[source] == "headers":
        arguments = draw(_TOPOLOGY_BINDING_ARGUMENTS)
    return Binding(source, destination, routing_key, arguments, kind)


@st.composite
def _topologies(draw: Any, max_exchanges: int, max_queues: int, max_bindings: int, exchange_types: Sequence[str],
                exchange_bindings: bool, alternate_exchanges: bool, arguments: bool, flags: bool,
                predeclared: bool) -> Topology:
    types = draw(st.lists(st.sampled_from(exchange_types), min_size=min(1, max_exchanges), max_size=max_exchanges))
    exchanges = draw(_exchanges(types, alternate_exchanges, flags))
    names = [x.name for x in exchanges]
    queues = draw(_queues(draw(st.integers(min(1, max_queues), max_queues)), names, arguments, flags))
    type_of = {**PREDECLARED_EXCHANGES, **{x.name: x.type for x in exchanges}}
    sources = names + (list(_PREDECLARED_SOURCES) if predeclared else [])
    destinations = names if exchange_bindings else []
    bindings: list[Binding] = []
    if sources and (queues or destinations):
        binding = _binding(sources, type_of, [q.name for q in queues], destinations)
        bindings = draw(st.lists(binding, min_size=min(1, max_bindings), max_size=max_bindings))
    return Topology(exchanges, queues, bindings)


def topologies(*, max_exchanges: int = 3, max_queues: int = 3, max_bindings: int = 6,
               exchange_types: Sequence[str] = EXCHANGE_TYPES, exchange_bindings: bool = True,
               alternate_exchanges: bool = True, arguments: bool = True, flags: bool = True,
               predeclared: bool = True) -> st.SearchStrategy[Topology]:
    """`memq.testing.Topology` records that `memq.testing.declare` can declare without an error.

    Exchanges `x0`, `x1`, ... of `exchange_types`, some with an `alternate-exchange` (another exchange,
    itself, `amq.fanout` or one that does not exist); queues `q0`, `q1`, ... with valid x-arguments (TTLs,
    lengths, overflow, priorities, dead-lettering); bindings from these exchanges (and, with `predeclared`, from
    `amq.direct`, `amq.topic`...) to queues and, with `exchange_bindings`, to exchanges (cycles and
    self-bindings included). Binding keys use a small vocabulary (`a`, `b`, the empty word, literal `*` and
    `#`, `é`) so that messages from `messages_for` often match several bindings.

    Args:
        arguments: give queues x-arguments. flags: draw durable/auto_delete/internal/exclusive.

    Shrinks towards one exchange `x0` (direct), one queue `q0` and one binding `Binding('x0', 'q0', '')`.
    """
    unknown = [kind for kind in exchange_types if kind not in EXCHANGE_TYPES]
    if unknown or not exchange_types:
        raise InvalidArgument(
            f"exchange_types are some of {', '.join(EXCHANGE_TYPES)}, got {list(exchange_types)!r}")
    return _topologies(max_exchanges, max_queues, max_bindings, tuple(exchange_types), exchange_bindings,
                       alternate_exchanges, arguments, flags, predeclared)


def _key_strategies(topology: Topology, bindings: Sequence[Binding]) -> list[st.SearchStrategy[str]]:
    """Routing keys aimed at `bindings`: their keys (direct), keys matching them (topic); queue names for `""`."""
    literal: list[str] = []
    aimed: list[st.SearchStrategy[str]] = []
    for binding in bindings:
        if topology.exchange_type(binding.source) == "topic":
            aimed.append(routing_keys_matching(binding.routing_key, words=_SMALL_WORDS))
        elif binding.routing_key not in literal:
            literal.append(binding.routing_key)
    return ([st.sampled_from(literal)] if literal else []) + aimed


def _headers_strategies(topology: Topology, bindings: Sequence[Binding]) -> list[st.SearchStrategy[Any]]:
    """Headers aimed at the headers bindings among `bindings`."""
    aimed: list[st.SearchStrategy[Any]] = []
    for binding in bindings:
        if topology.exchange_type(binding.source) == "headers":
            kind, compared = _compared(binding.arguments)
            if compared or not kind.startswith("any"):
                aimed.append(headers_matching(binding.arguments, equivalents=True, extra=st.just({}),
                                              values=header_values(nested=False)))
    return aimed


def _aimed_messages(topology: Topology, exchange: str,
                    bodies: st.SearchStrategy[bytes]) -> st.SearchStrategy[Message]:
    """Messages for `exchange`: keys and headers aimed first at its own bindings, then at any binding."""
    own = [b for b in topology.bindings if b.source == exchange]
    queue_names = [st.sampled_from(topology.queue_names)] if topology.queue_names else []
    keys = queue_names if exchange == "" else _key_strategies(topology, own)
    keys += _key_strategies(topology, topology.bindings) + queue_names + [_AIMED_OTHER_KEYS]
    headers = [st.none(), *_headers_strategies(topology, own), *_headers_strategies(topology, topology.bindings),
               _AIMED_OTHER_HEADERS]
    return st.builds(Message, routing_key=st.one_of(keys), body=bodies,
                     properties=st.builds(Properties, headers=st.one_of(headers)))


@st.composite
def _pairs(draw: Any, exchanges: st.SearchStrategy[str],
           messages: Mapping[str, st.SearchStrategy[Message]]) -> tuple[str, Message]:
    exchange = draw(exchanges)
    return exchange, draw(messages[exchange])


def messages_for(topology: Topology, *, body: st.SearchStrategy[bytes] | None = None,
                 ) -> st.SearchStrategy[tuple[str, Message]]:
    """`(exchange, message)` pairs aimed at `topology`: many reach queues, through one binding or several.

    The exchange is mostly one with bindings, else any of the topology's (not the internal ones, which refuse
    publishes) or the default exchange `""`; routing keys are that exchange's binding keys, keys matching its
    topic binding keys, then other bindings' keys, queue names or others; headers match its headers bindings,
    others, or none.

    Shrinks towards the first exchange with bindings and its first binding key.
    """
    exchanges = [x.name for x in topology.exchanges if not x.internal] + [""]
    for binding in topology.bindings:
        if binding.source not in exchanges and binding.source in _PREDECLARED_SOURCES:
            exchanges.append(binding.source)
    sources = [name for name in exchanges if any(b.source == name for b in topology.bindings)]
    bodies = st.binary(max_size=8) if body is None else body
    messages = {name: _aimed_messages(topology, name, bodies) for name in exchanges}
    chosen = st.sampled_from(exchanges)
    if sources:
        chosen = st.one_of(st.sampled_from(sources), chosen)
    return _pairs(chosen, messages)
