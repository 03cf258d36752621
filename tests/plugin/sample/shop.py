"""A small shop's messaging code, written for RabbitMQ with pika (the sample project of the plugin tests)."""

import json
import os

import pika
from pika import BlockingConnection, URLParameters

AMQP_URL = os.environ.get("SHOP_AMQP_URL", "amqp://guest:guest@localhost:5672/%2F")


def connect():
    return BlockingConnection(URLParameters(AMQP_URL))


def declare(channel):
    channel.exchange_declare("shop", "topic")
    channel.exchange_declare("shop.dlx", "fanout")
    channel.queue_declare("shop.orders", arguments={"x-dead-letter-exchange": "shop.dlx"})
    channel.queue_declare("shop.orders.dead")
    channel.queue_bind("shop.orders", "shop", "order.*")
    channel.queue_bind("shop.orders.dead", "shop.dlx")


def place_order(channel, order):
    channel.basic_publish(
        "shop", "order.created", json.dumps(order).encode(),
        pika.BasicProperties(content_type="application/json", message_id=str(order["id"])))


def handle_order(channel, method, properties, body):
    """Accept orders with a positive quantity; reject the others (they go to the dead-letter queue)."""
    order = json.loads(body)
    if order.get("quantity", 0) > 0:
        channel.basic_ack(method.delivery_tag)
    else:
        channel.basic_reject(method.delivery_tag, requeue=False)


def start_worker(connection):
    channel = connection.channel()
    channel.basic_qos(prefetch_count=10)
    channel.basic_consume("shop.orders", handle_order)
    return channel
