"""The shop's Celery tasks (the sample project of the plugin tests)."""

import celery

app = celery.Celery("shop", broker="amqp://guest:guest@localhost:5672//", backend="rpc://")
attempts = {}


@app.task(shared=False, name="shop.add")
def add(x, y):
    return x + y


@app.task(shared=False, name="shop.total")
def total(prices):
    return sum(prices)


@app.task(shared=False, name="shop.flaky", bind=True, max_retries=3)
def flaky(self, key):
    """Fails on its first attempt, then succeeds."""
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] < 2:
        raise self.retry(countdown=0.2)
    return attempts[key]


@app.task(shared=False, name="shop.refuse")
def refuse(reason):
    raise ValueError(reason)
