"""W7's RQ reference (bench/w7): a no-op job on queue "w7".

    python3 -m rq.cli worker --url URL w7      (4 of them)
    python3 -m w7_rq N    enqueues N no-op jobs, waits until all ran and
                          prints one JSON line (jobs/s from the first
                          enqueue to the last job done)

The job counts itself done in Redis (INCR); the one that completes the count
pushes to a list the producer waits on (BLPOP): no polling.
"""

import json
import os
import sys
import time
import uuid

import redis
from rq import Queue, get_current_job

URL = os.environ["W7_REDIS_URL"]


def noop(key, total):
    connection = get_current_job().connection
    if connection.incr(key) == total:
        connection.lpush(key + ":done", 1)


def main(n):
    connection = redis.Redis.from_url(URL)
    queue = Queue("w7", connection=connection)
    key = "w7:" + uuid.uuid4().hex
    started = time.monotonic()
    for _ in range(n):
        queue.enqueue("w7_rq.noop", key, n, result_ttl=0)  # by name: workers import w7_rq, not __main__
    if connection.blpop(key + ":done", timeout=900) is None:
        sys.exit("w7_rq: the jobs did not all run within 900 s")
    seconds = time.monotonic() - started
    print(json.dumps({"workload": "W7", "impl": "rq", "runs": n, "seconds": seconds, "runs_per_s": n / seconds}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
