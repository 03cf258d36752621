"""The shop's Celery tests, as written against a real RabbitMQ; they only ask for the memq_celery fixture."""

import uuid

import celery
import pytest

import tasks


@pytest.fixture
def driver(memq_celery):
    return memq_celery(tasks.app)


def test_add_returns_sum(driver):
    assert tasks.add.delay(5, 2).get(timeout=10) == 7


def test_chain_passes_results_along(driver):
    workflow = celery.chain(tasks.add.s(1, 2), tasks.add.s(10))
    assert workflow.apply_async().get(timeout=10) == 13


def test_group_and_chord(driver):
    result = celery.chord([tasks.add.s(i, i) for i in range(4)])(tasks.total.s())
    assert result.get(timeout=10) == 12


def test_flaky_task_succeeds_after_a_retry(driver):
    key = uuid.uuid4().hex
    assert tasks.flaky.delay(key).get(timeout=10) == 2
    driver.run_until_idle()
    assert driver.tasks[0].retries == 1 and driver.tasks[0].state == "SUCCESS"


def test_failure_propagates(driver):
    with pytest.raises(ValueError, match="out of stock"):
        tasks.refuse.delay("out of stock").get(timeout=10)
