#!/usr/bin/env python3
"""Turns the raw figures bench/run wrote into one table (stdout), plus
summary.md and summary.json beside them. Python standard library only.

Every figure is the median over the runs; a ratio is fluid / floor (for a time,
lower is better, for a rate, higher is better). Rows without a goal in the
spec are marked "info".
"""

import json
import os
import platform
import statistics
import sys
from pathlib import Path

KB = 1024


def load_gbench(path):
    """{run_name: [one dict per repetition]} from a Google Benchmark JSON file."""
    runs = {}
    if not path.exists():
        return runs
    for b in json.loads(path.read_text())["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"].split("/iterations:")[0]
        runs.setdefault(name, []).append(b)
    return runs


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def gmed(runs, name, field):
    return med([r.get(field) for r in runs.get(name, [])])


def load_lines(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Table:
    def __init__(self):
        self.rows = []

    def add(self, workload, unit, fluid, floor, goal, verdict, note=""):
        ratio = fluid / floor if fluid is not None and floor not in (None, 0) else None
        if callable(verdict):
            verdict = "n/a" if fluid is None else ("pass" if verdict(fluid, floor, ratio) else "FAIL")
        self.rows.append(dict(workload=workload, unit=unit, fluid=fluid, floor=floor, ratio=ratio,
                              goal=goal, result=verdict, note=note))


def fmt(value, unit):
    if value is None:
        return "-"
    if unit in ("msg/s", "dispatch/s", "runs/s"):
        if value < 10e3:
            return f"{value:.0f}"
        return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.0f}k"
    if unit == "ms":
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    if unit == "us":
        return f"{value:.1f}"
    if unit in ("B", "instr"):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def machine():
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "loadavg_at_report": [round(x, 2) for x in os.getloadavg()]}


def w1_rows(t, runs):
    for w, floor_note in (("W1a", "spec floor 46.7M drain, Go 21.0M"), ("W1b", "spec floor 22.6M drain")):
        fluid = gmed(runs, f"{w}/fluid", "items_per_second")
        floor = gmed(runs, f"{w}/floor", "items_per_second")
        t.add(f"{w} queue throughput", "msg/s", fluid, floor, ">= 0.8 x drain floor",
              lambda f, fl, r: r is not None and r >= 0.8, floor_note)
        t.add(f"{w} vs per-message await floor", "msg/s", fluid, gmed(runs, f"{w}/floor_await", "items_per_second"),
              "info", "info", "floor awaiting async_receive once per message")


def w5_rows(t, runs):
    f1 = gmed(runs, "W5/fluid_1thread", "items_per_second")
    f2 = gmed(runs, "W5/fluid_2threads", "items_per_second")
    c1 = gmed(runs, "W5/floor_1thread", "items_per_second")
    c2 = gmed(runs, "W5/floor_2threads", "items_per_second")
    t.add("W5 2 producer threads, 1-thread loop", "msg/s", f1, c1, "info", "info", "floor: concurrent_channel")
    t.add("W5 2 producer threads, 2-thread loop", "msg/s", f2, c2, "info", "info", "fluid::run(.threads = 2)")
    t.add("W5 2-thread / 1-thread", "x", f2 / f1 if f1 and f2 else None, c2 / c1 if c1 and c2 else None,
          "info", "info")


def w3_rows(t, runs):
    t.add("W3 shutdown of an idle consumer, median", "us", gmed(runs, "W3/fluid", "median_us"),
          gmed(runs, "W3/floor", "median_us"), "<= 2 x floor", lambda f, fl, r: r is not None and r <= 2.0,
          "20 stops per run")
    t.add("W3 shutdown of an idle consumer, max", "us", gmed(runs, "W3/fluid", "max_us"),
          gmed(runs, "W3/floor", "max_us"), "< 100 us", lambda f, fl, r: f < 100, "median over runs of each run's max")


def w4_rows(t, runs):
    fluid = gmed(runs, "W4/fluid", "items_per_second")
    t.add("W4 dispatch, 10 trivial handlers", "dispatch/s", fluid, gmed(runs, "W4/floor_parallel_group", "items_per_second"),
          ">= 800k (2 x Go)", lambda f, fl, r: f >= 800e3, "floor: parallel_group of co_spawn")
    t.add("W4 vs handlers one after another", "dispatch/s", fluid, gmed(runs, "W4/floor_sequential", "items_per_second"),
          "info", "info", "floor not concurrent: fluid runs handlers inline until they suspend")
    t.add("W4 handlers that suspend once", "dispatch/s", gmed(runs, "W4s/fluid", "items_per_second"),
          gmed(runs, "W4s/floor_parallel_group", "items_per_second"), "info", "info", "nothing finishes inline")


def w2_rows(t, lines):
    def pick(impl, n, idiom=None, field=None):
        return med([l.get(field) for l in lines
                    if l["impl"] == impl and l["n"] == n and (idiom is None or l["idiom"] == idiom)
                    and not l.get("failed")])

    sizes = sorted({l["n"] for l in lines})
    for n in sizes:
        label = f"W2 {n // 1000}k" if n < 1_000_000 else f"W2 {n // 1_000_000}M"
        failed = [l for l in lines if l["n"] == n and l.get("failed")]
        note = f"{len(failed)} run(s) failed or timed out" if failed else ""
        f = pick("fluid", n, field="startup_s")
        fl = pick("floor", n, field="startup_s")
        if n >= 1_000_000:
            t.add(f"{label}: startup until all run", "ms", f and f * 1e3, fl and fl * 1e3, "<= 2 x floor, < 2 s",
                  lambda f, fl, r: r is not None and r <= 2.0 and f < 2000, note)
        else:
            t.add(f"{label}: startup until all run", "ms", f and f * 1e3, fl and fl * 1e3, "<= 2 x floor",
                  lambda f, fl, r: r is not None and r <= 2.0, note)
        for idiom, what in (("seed", ""), ("aware", " (stop-aware wait)")):
            t.add(f"{label}: RSS per idle worker{what}", "B", pick("fluid", n, idiom, "rss_per_worker_b"),
                  pick("floor", n, idiom, "rss_per_worker_b"), "<= 1.5 KB", lambda f, fl, r: f <= 1.5 * KB)
        f = pick("fluid", n, "seed", "stop_s")
        fl = pick("floor", n, "seed", "stop_s")
        t.add(f"{label}: graceful stop, seed idiom", "ms", f and f * 1e3, fl and fl * 1e3,
              "<= 1.1 x floor" if n == 10_000 else "info",
              (lambda f, fl, r: r is not None and r <= 1.1) if n == 10_000 else "info",
              "bounded by the 100 ms sleep")
        f = pick("fluid", n, "aware", "stop_s")
        fl = pick("floor", n, "aware", "stop_s")
        t.add(f"{label}: graceful stop, stop-aware wait", "ms", f and f * 1e3, fl and fl * 1e3,
              "<= 2 x floor", lambda f, fl, r: r is not None and r <= 2.0, "floor cancels every timer")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for field, what in (("startup_s", "startup per worker"), ("rss_per_worker_b", "RSS per worker")):
            per = {}
            for impl in ("fluid", "floor"):
                a, b = pick(impl, small, field=field), pick(impl, large, field=field)
                if field == "startup_s" and a and b:
                    a, b = a / small, b / large
                per[impl] = b / a if a and b else None
            t.add(f"W2 {what}, N={large:,} / N={small:,}", "x", per["fluid"], per["floor"], "flat (<= 1.5)",
                  lambda f, fl, r: f <= 1.5, "cost per worker as N grows")


def callgrind_rows(t, lines):
    per = {}
    for l in lines:
        if l["ir1"] and l["ir2"] and l["n2"] != l["n1"]:
            per[l["workload"]] = (l["ir2"] - l["ir1"]) / (l["n2"] - l["n1"])
    if not per:
        return
    t.add("W1a instructions per message (send+handle)", "instr", per.get("w1a_fluid"), per.get("w1a_floor"),
          "info", "info", "callgrind")
    t.add("W1b instructions per message (send+handle)", "instr", per.get("w1b_fluid"), per.get("w1b_floor"),
          "info", "info", "callgrind")
    t.add("W4 instructions per dispatch", "instr", per.get("w4_fluid"), per.get("w4_floor_parallel_group"),
          "info", "info", "callgrind, floor: parallel_group")
    t.add("W4 instructions per dispatch vs sequential", "instr", per.get("w4_fluid"), per.get("w4_floor_sequential"),
          "info", "info", "callgrind")
    t.add("W6 instructions per run (queue, claim, run, finish)", "instr", per.get("w6"), None, "info", "info",
          "callgrind, memory broker included")


def w6_rows(t, lines):
    def pick(workload, field):
        return med([l.get(field) for l in lines if l.get("workload") == workload and not l.get("failed")])

    failed = [l for l in lines if l.get("failed")]
    note = f"{len(failed)} run(s) failed or timed out" if failed else ""
    t.add("W6 memory broker end to end, 64 concurrent", "runs/s", pick("W6", "runs_per_s"), None, ">= 100k",
          lambda f, fl, r: f >= 100e3, note or "100,000 no-op runs, first queue() to last final")
    t.add("W6 idle consumer pickup, p50", "us", pick("W6pickup", "p50_us"), None, "info", "info", "queue() to start")
    t.add("W6 idle consumer pickup, p99", "us", pick("W6pickup", "p99_us"), None, "<= 1 ms",
          lambda f, fl, r: f <= 1000, "1,000 runs one at a time")
    t.add("W6 scheduled slot queueing delay, p99", "ms", pick("W6slots", "p99_ms"), None, "<= 50 ms",
          lambda f, fl, r: f <= 50, "every(20 ms), 200 slots")


def w7_rows(t, lines):
    def pick(workload, impl, field):
        return med([l.get(field) for l in lines
                    if l.get("workload") == workload and l.get("impl") == impl and not l.get("failed")])

    fluid = pick("W7", "fluid", "runs_per_s")
    celery = pick("W7", "celery", "runs_per_s")
    rq = pick("W7", "rq", "runs_per_s")
    t.add("W7 redis end to end, 4 consumers x 64", "runs/s", fluid, None, ">= 5,000",
          lambda f, fl, r: f >= 5000, "first queue to last final, one redis-server")
    t.add("W7 vs Celery 5.2 (threads, 64), same run", "runs/s", fluid, celery, ">= 10 x",
          lambda f, fl, r: r is not None and r >= 10, "floor column: Celery")
    t.add("W7 vs RQ 1.13 (4 workers), same run", "runs/s", fluid, rq, ">= 20 x",
          lambda f, fl, r: r is not None and r >= 20, "floor column: RQ")
    t.add("W7 Redis commands per run", "cmds", pick("W7", "fluid", "commands_per_run"),
          pick("W7", "celery", "commands_per_run"), "info", "info",
          "INFO commandstats, Lua's calls included; floor column: Celery")
    t.add("W7 requests per run (clients to Redis)", "reqs", pick("W7", "fluid", "requests_per_run"), None,
          "<= 4", lambda f, fl, r: f <= 4, "EVALSHA, XREAD, BLPOP and set-up; pipelined ones share round trips")
    t.add("W7 queue-to-start at half load, p99", "ms", pick("W7latency", "fluid", "p99_ms"), None, "< 10 ms",
          lambda f, fl, r: f < 10, "a steady trickle at half the measured rate")


def render_text(rows):
    head = ["workload", "unit", "fluid", "floor", "ratio", "goal", "result"]
    body = [[r["workload"], r["unit"], fmt(r["fluid"], r["unit"]), fmt(r["floor"], r["unit"]),
             "-" if r["ratio"] is None else f"{r['ratio']:.2f}", r["goal"], r["result"]] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i in (0, 1, 5, 6) else str(c).rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head), "  ".join("-" * w for w in widths)] + [line(b) for b in body])


def render_markdown(rows):
    out = ["| workload | unit | fluid | floor | fluid/floor | goal | result | note |",
           "|---|---|---:|---:|---:|---|---|---|"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        out.append(f"| {r['workload']} | {r['unit']} | {fmt(r['fluid'], r['unit'])} | {fmt(r['floor'], r['unit'])} "
                   f"| {ratio} | {r['goal']} | {r['result']} | {r['note']} |")
    return "\n".join(out)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build/bench")
    t = Table()
    w1 = load_gbench(out / "w1.json")
    if w1:
        w1_rows(t, w1)
    w2 = load_lines(out / "w2.jsonl")
    if w2:
        w2_rows(t, w2)
    w3 = load_gbench(out / "w3.json")
    if w3:
        w3_rows(t, w3)
    w4 = load_gbench(out / "w4.json")
    if w4:
        w4_rows(t, w4)
    w5 = load_gbench(out / "w5.json")
    if w5:
        w5_rows(t, w5)
    w6 = load_lines(out / "w6.jsonl")
    if w6:
        w6_rows(t, w6)
    w7 = load_lines(out / "w7.jsonl")
    if w7:
        w7_rows(t, w7)
    callgrind_rows(t, load_lines(out / "callgrind.jsonl"))

    info = machine()
    text = render_text(t.rows)
    print(f"machine: {info['nproc']} x {info['cpu']}, load average {info['loadavg_at_report']}")
    print(text)
    goals = [r for r in t.rows if r["result"] in ("pass", "FAIL")]
    failed = [r for r in goals if r["result"] == "FAIL"]
    print(f"{len(goals) - len(failed)}/{len(goals)} goals met" + (f"; missed: {', '.join(r['workload'] for r in failed)}"
                                                                 if failed else ""))
    (out / "summary.md").write_text(render_markdown(t.rows) + "\n")
    (out / "summary.json").write_text(json.dumps({"machine": info, "rows": t.rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
