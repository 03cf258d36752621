"""Where memq_pika sends a connection: its parameters rewritten for memq or for the --memq-broker URL."""

from __future__ import annotations

import pika

from pytest_memq._pika import PikaHarness


def _real(url: str = "amqp://app:secret@mq.test:5673/staging") -> PikaHarness:
    return PikaHarness(url=url)


def test_default_parameters_take_the_urls_host_credentials_and_vhost() -> None:
    """pika's defaults (localhost, guest/guest, '/') become the URL's."""
    moved = _real().redirect(pika.ConnectionParameters("localhost"))
    assert (moved.host, moved.port, moved.virtual_host) == ("mq.test", 5673, "staging")
    assert (moved.credentials.username, moved.credentials.password) == ("app", "secret")


def test_named_credentials_and_vhost_are_kept() -> None:
    """A connection that names its own user and virtual host keeps them; only the address moves."""
    params = pika.ConnectionParameters("rabbit", 5672, "orders", pika.PlainCredentials("svc", "pw"), heartbeat=7)
    moved = _real().redirect(params)
    assert (moved.host, moved.port, moved.virtual_host) == ("mq.test", 5673, "orders")
    assert (moved.credentials.username, moved.heartbeat) == ("svc", 7)
    assert params.host == "rabbit"  # the caller's object is not changed


def test_url_parameters_none_and_lists_are_redirected() -> None:
    """URLParameters, no parameters at all, and a list of alternatives all point at the broker."""
    harness = _real()
    assert harness.redirect(pika.URLParameters("amqp://guest:guest@elsewhere:1/%2F")).host == "mq.test"
    assert harness.redirect(None).port == 5673
    assert [p.host for p in harness.redirect([pika.ConnectionParameters("a"), pika.ConnectionParameters("b")])] \
        == ["mq.test", "mq.test"]


def test_simulated_broker_keeps_credentials_and_moves_the_address() -> None:
    """On memq every address becomes one memq.pika answers; credentials stay for the broker to check."""
    import memq

    harness = PikaHarness(memq.Broker())
    moved = harness.redirect(pika.ConnectionParameters("mq.prod", 5671, "/", pika.PlainCredentials("u", "p")))
    assert (moved.host, moved.port, moved.credentials.username) == ("localhost", 5672, "u")


def test_tls_follows_the_url() -> None:
    """An amqps:// URL turns TLS on for redirected connections; amqp:// turns it off."""
    plain = _real().redirect(pika.ConnectionParameters("x", ssl_options=None))
    assert plain.ssl_options is None
    secure = _real("amqps://guest:guest@mq.test:5671/%2F").redirect(pika.ConnectionParameters("x"))
    assert secure.ssl_options is not None and secure.port == 5671
