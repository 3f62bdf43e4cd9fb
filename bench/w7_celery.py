"""W7's Celery reference (bench/w7): a no-op task on a Redis broker.

    python3 -m celery -A w7_celery worker --pool threads --concurrency 64
    python3 -m w7_celery N    sends N no-op tasks, waits until all ran and
                              prints one JSON line (tasks/s from the first
                              send to the last task done)

The task counts itself done in Redis (INCR); the one that completes the
count pushes to a list the sender waits on (BLPOP): no polling.
"""

import json
import os
import sys
import time
import uuid

import redis
from celery import Celery

URL = os.environ["W7_REDIS_URL"]
app = Celery("w7", broker=URL)
app.conf.update(task_ignore_result=True, worker_prefetch_multiplier=16, worker_hijack_root_logger=False,
                broker_connection_retry_on_startup=True)
counter = redis.Redis.from_url(URL)


@app.task(name="w7.noop")
def noop(key, total):
    if counter.incr(key) == total:
        counter.lpush(key + ":done", 1)


def main(n):
    key = "w7:" + uuid.uuid4().hex
    started = time.monotonic()
    for _ in range(n):
        noop.apply_async((key, n))
    if counter.blpop(key + ":done", timeout=900) is None:
        sys.exit("w7_celery: the tasks did not all run within 900 s")
    seconds = time.monotonic() - started
    print(json.dumps({"workload": "W7", "impl": "celery", "runs": n, "seconds": seconds, "runs_per_s": n / seconds}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
