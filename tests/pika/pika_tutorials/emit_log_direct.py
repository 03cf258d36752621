"""RabbitMQ tutorial 4, "Routing": emit_log_direct.py, as published (argv passed in)."""
import sys

import pika


def main(argv=None):
    argv = sys.argv if argv is None else argv
    connection = pika.BlockingConnection(
        pika.ConnectionParameters(host='localhost'))
    channel = connection.channel()

    channel.exchange_declare(exchange='direct_logs', exchange_type='direct')

    severity = argv[1] if len(argv) > 1 else 'info'
    message = ' '.join(argv[2:]) or 'Hello World!'
    channel.basic_publish(
        exchange='direct_logs', routing_key=severity, body=message)
    print(f" [x] Sent {severity}:{message}")
    connection.close()
