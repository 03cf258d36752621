"""RabbitMQ tutorial 3, "Publish/Subscribe": emit_log.py, as published (argv passed in)."""
import sys

import pika


def main(argv=None):
    argv = sys.argv if argv is None else argv
    connection = pika.BlockingConnection(
        pika.ConnectionParameters(host='localhost'))
    channel = connection.channel()

    channel.exchange_declare(exchange='logs', exchange_type='fanout')

    message = ' '.join(argv[1:]) or "info: Hello World!"
    channel.basic_publish(exchange='logs', routing_key='', body=message)
    print(f" [x] Sent {message}")
    connection.close()
