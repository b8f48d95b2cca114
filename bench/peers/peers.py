#!/usr/bin/env python3
"""Peer comparison: plait-bench against Dask, Hamilton and OpenStack TaskFlow.

Two modes:

* driver (default): runs every (workload, engine) pair ``--repeat`` times, each
  in a fresh subprocess, and prints a table (``--markdown`` for docs).
* child (``--peer ENGINE``): builds and runs one workload in this process and
  prints ONE JSON line, shaped like ``plait-bench --json``.

Workloads and their seeded graphs
---------------------------------
All engines run the same graphs. Values are i64 with wrapping (two's
complement) arithmetic, exactly like Rust's ``i64::wrapping_add``: layered sums
grow about 2.5x per layer and overflow 64 bits after ~50 layers.

* ``wide``: tasks ``0..N`` each return 1; one extra ``join`` task requires all N
  outputs and returns their sum. checksum = value of join = N.
* ``chain``: task ``i`` (i > 0) requires task ``i-1`` and returns input + 1;
  task 0 returns 1. checksum = value of the last task = N.
* ``layered``: ``N / 100`` layers of 100 tasks (N must be a multiple of 100).
  Layer 0 tasks return 1; every other task requires 2-3 distinct tasks of the
  previous layer and returns (sum of inputs) + 1.
  checksum = wrapping sum of the values of the last layer's 100 tasks.
* ``sleepy``: the layered generator with width 10 and 200 tasks (20 layers),
  same seed; each task sleeps 10 ms, then returns (sum of inputs) + 1.
  checksum = wrapping sum of the last layer's 10 values.

The seeded generator (mirror this exactly in Rust)
--------------------------------------------------
RNG: splitmix64, state = seed = 42, all arithmetic modulo 2**64::

    next():
        state = state + 0x9E3779B97F4A7C15          (wrapping)
        z = state
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9    (wrapping)
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB    (wrapping)
        return z ^ (z >> 31)

One generator for the whole graph. Tasks are numbered globally,
``id = layer * width + position``. Visit the layers k = 1, 2, ... in order
and, within a layer, the positions 0..width in order (layer 0 draws nothing).
For each task::

    count = 2 + next() % 2                 # 2 or 3 parents
    parents = []
    while len(parents) < count:
        p = next() % width                 # position in layer k-1
        if p not in parents:               # rejection: redraw duplicates
            parents.append(p)
    deps = [(k - 1) * width + p for p in parents]   # in drawing order

First outputs of splitmix64(42): 0xBDD732262FEB6E95, 0x28EFE333B266F103,
0x47526757130F9F52. ``--print-vectors`` prints more (dependency lists and the
checksums of the default sizes) for a unit test on the Rust side.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = 42
LAYER_WIDTH = 100
SLEEPY_WIDTH = 10
SLEEPY_TASKS = 200
SLEEPY_JOBS = 10
SLEEP_S = 0.010
MASK64 = (1 << 64) - 1

# splitmix64(42).next() x 3 (checked by --print-vectors).
SPLITMIX64_SEED42_FIRST = (
    0xBDD732262FEB6E95,
    0x28EFE333B266F103,
    0x47526757130F9F52,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# run.sh sets PLAIT_BENCH to "" when the release build failed (no stale binary).
PLAIT_BENCH = Path(os.environ.get("PLAIT_BENCH", REPO / "target" / "release" / "plait-bench"))

WORKLOADS = ("layered", "chain", "wide", "sleepy")
ENGINES = ("plait", "dask", "hamilton", "hamilton-threads", "taskflow")

DEFAULT_SIZES = {"layered": 10_000, "chain": 10_000, "wide": 100_000}
QUICK_SIZES = {"layered": 500, "chain": 500, "wide": 1_000}

# Per-engine cap on N, so the whole script stays under ~10 min on 2 cores.
# TaskFlow's scheduler is super-linear (a 2,000-task chain: ~40 s run + ~30 s
# build, 700 MB); at 1,000 tasks a run takes ~10 s. Capped rows say so in the
# table; compare them by per-task time (which flatters TaskFlow: it grows with N).
ENGINE_MAX_TASKS: dict[str, dict[str, int]] = {
    "taskflow": {"layered": 1_000, "chain": 1_000, "wide": 1_000},
}


# --------------------------------------------------------------------------
# Graphs (shared by every engine)
# --------------------------------------------------------------------------


class SplitMix64:
    """splitmix64; see the module docstring."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def wrap_i64(value: int) -> int:
    """Reduce a Python int to i64 with two's complement wrapping."""
    return ((value + (1 << 63)) & MASK64) - (1 << 63)


def layered_graph(n: int, seed: int = SEED, width: int = LAYER_WIDTH) -> list[list[int]]:
    """Dependency lists (global task ids) of the layered workload."""
    if n <= 0 or n % width:
        raise ValueError(f"layered needs a positive multiple of {width} tasks, got {n}")
    rng = SplitMix64(seed)
    deps: list[list[int]] = [[] for _ in range(width)]
    for layer in range(1, n // width):
        base = (layer - 1) * width
        for _ in range(width):
            count = 2 + rng.next() % 2
            parents: list[int] = []
            while len(parents) < count:
                p = rng.next() % width
                if p not in parents:
                    parents.append(p)
            deps.append([base + p for p in parents])
    return deps


@dataclass(frozen=True)
class Graph:
    """A workload as plain data.

    Task ``i`` requires ``deps[i]`` and returns ``sum(inputs) + 1`` (so a task
    without inputs returns 1), except the ``join`` task, which returns
    ``sum(inputs)``. The checksum is the wrapping sum of ``outputs``' values.

    ``sinks`` are all tasks nobody requires. About 8% of a layered graph's
    tasks (each misses all ~250 draws of the next layer: 0.975**100) lead
    nowhere near the last layer, and engines that prune by requested outputs
    (Hamilton, Dask) would skip them: peers request every sink, so every
    engine runs all tasks.
    """

    workload: str
    tasks: int  # N as reported (wide's join is not counted)
    deps: list[list[int]]
    outputs: list[int]
    join: int | None = None
    sleep_s: float = 0.0

    @property
    def size(self) -> int:
        return len(self.deps)

    @property
    def sinks(self) -> list[int]:
        required = {p for parents in self.deps for p in parents}
        return [i for i in range(self.size) if i not in required]


def make_graph(workload: str, n: int) -> Graph:
    if workload == "layered":
        deps = layered_graph(n)
        return Graph(workload, n, deps, list(range(n - LAYER_WIDTH, n)))
    if workload == "sleepy":
        deps = layered_graph(n, width=SLEEPY_WIDTH)
        outputs = list(range(n - SLEEPY_WIDTH, n))
        return Graph(workload, n, deps, outputs, sleep_s=SLEEP_S)
    if workload == "chain":
        deps = [[]] + [[i - 1] for i in range(1, n)]
        return Graph(workload, n, deps, [n - 1])
    if workload == "wide":
        deps = [[] for _ in range(n)] + [list(range(n))]
        return Graph(workload, n, deps, [n], join=n)
    raise ValueError(f"unknown workload {workload!r}")


def expected_checksum(graph: Graph) -> int:
    """Plain sequential evaluation (ids are already in topological order)."""
    values: list[int] = []
    for i, parents in enumerate(graph.deps):
        bias = 0 if i == graph.join else 1
        values.append(wrap_i64(sum(values[p] for p in parents) + bias))
    return checksum(graph, dict(enumerate(values)))


def checksum(graph: Graph, values: dict[int, int]) -> int:
    return wrap_i64(sum(values[i] for i in graph.outputs))


def name(i: int) -> str:
    return f"t{i}"


# Task bodies shared by the Python peers.


def inc(*xs: int) -> int:
    return wrap_i64(sum(xs) + 1)


def total(*xs: int) -> int:
    return wrap_i64(sum(xs))


def sleepy_inc(*xs: int) -> int:
    time.sleep(SLEEP_S)
    return wrap_i64(sum(xs) + 1)


def body(graph: Graph, i: int) -> Callable[..., int]:
    if i == graph.join:
        return total
    return sleepy_inc if graph.sleep_s else inc


# --------------------------------------------------------------------------
# Peers: build_*() constructs the graph in the engine and returns run(),
# which executes it and returns the values of graph.sinks by task id.
# --------------------------------------------------------------------------

Runner = Callable[[], dict[int, int]]


def build_dask(graph: Graph, jobs: int) -> Runner:
    import dask.threaded

    dsk: dict[str, tuple[Any, ...]] = {
        name(i): (body(graph, i), *map(name, parents)) for i, parents in enumerate(graph.deps)
    }
    sinks = graph.sinks
    keys = [name(i) for i in sinks]

    def run() -> dict[int, int]:
        values = dask.threaded.get(dsk, keys, num_workers=jobs)
        return dict(zip(sinks, values, strict=True))

    return run


def hamilton_source(graph: Graph) -> str:
    lines: list[str] = []
    for i, parents in enumerate(graph.deps):
        params = ", ".join(f"{name(p)}: int" for p in parents)
        if i == graph.join:
            # A join over N parameters: locals() holds exactly the parameters.
            call = "_total(*locals().values())"
        else:
            call = f"_inc({', '.join(map(name, parents))})"
        lines.append(f"def {name(i)}({params}) -> int:\n    return {call}\n")
    return "\n".join(lines)


def build_hamilton(graph: Graph, jobs: int, threaded: bool) -> Runner:
    from hamilton import ad_hoc_utils, driver

    namespace: dict[str, Any] = {
        "_inc": sleepy_inc if graph.sleep_s else inc,
        "_total": total,
    }
    exec(compile(hamilton_source(graph), "<plait-peers>", "exec"), namespace)
    fns = [namespace[name(i)] for i in range(graph.size)]
    module = ad_hoc_utils.create_temporary_module(*fns)
    builder = driver.Builder().with_modules(module)
    if threaded:
        from hamilton.plugins.h_threadpool import FutureAdapter

        builder = builder.with_adapters(FutureAdapter(max_workers=jobs))
    dr = builder.build()
    sinks = graph.sinks
    finals = [name(i) for i in sinks]

    def run() -> dict[int, int]:
        result = dr.execute(finals)
        return {i: result[name(i)] for i in sinks}

    return run


def build_taskflow(graph: Graph, jobs: int) -> Runner:
    import futurist
    from taskflow import engines, task
    from taskflow.patterns import graph_flow

    fn_inc = sleepy_inc if graph.sleep_s else inc

    class Inc(task.Task):
        def execute(self, **inputs: int) -> int:
            return fn_inc(*inputs.values())

    class Total(task.Task):
        def execute(self, **inputs: int) -> int:
            return total(*inputs.values())

    flow = graph_flow.Flow("plait-peers")
    for i, parents in enumerate(graph.deps):
        cls = Total if i == graph.join else Inc
        flow.add(cls(name=name(i), provides=name(i), requires=[name(p) for p in parents]))
    # The same pool class the parallel engine would create for max_workers=jobs,
    # but made here: an engine-owned pool is created and joined inside every
    # run(), and futurist's shutdown alone waits ~1 s for idle workers.
    pool = futurist.ThreadPoolExecutor(max_workers=jobs)
    engine = engines.load(flow, engine="parallel", executor=pool, max_workers=jobs)
    engine.compile()
    engine.prepare()
    engine.validate()

    def run() -> dict[int, int]:
        try:
            engine.run()
            return {i: engine.storage.fetch(name(i)) for i in graph.sinks}
        finally:
            pool.shutdown(wait=False)

    return run


def build_peer(engine: str, graph: Graph, jobs: int) -> Runner:
    if engine == "dask":
        return build_dask(graph, jobs)
    if engine == "hamilton":
        return build_hamilton(graph, jobs, threaded=False)
    if engine == "hamilton-threads":
        return build_hamilton(graph, jobs, threaded=True)
    if engine == "taskflow":
        return build_taskflow(graph, jobs)
    raise ValueError(f"unknown peer {engine!r}")


PEER_MODULES = {
    "dask": ["dask.threaded"],
    "hamilton": ["hamilton.ad_hoc_utils", "hamilton.driver"],
    "hamilton-threads": [
        "hamilton.ad_hoc_utils",
        "hamilton.driver",
        "hamilton.plugins.h_threadpool",
    ],
    "taskflow": ["futurist", "taskflow.engines", "taskflow.patterns.graph_flow"],
}


def import_peer(engine: str) -> None:
    """Import the peer's library up front so import time is not measured."""
    for module in PEER_MODULES[engine]:
        importlib.import_module(module)


def rss_mb() -> float:
    """Peak RSS of this process image so far (VmHWM), in MiB.

    Not ru_maxrss: a child's ru_maxrss starts at its parent's peak RSS (Python's
    subprocess vforks, and exec keeps the old image's high-water mark), so
    every child of a 40 MB driver would report at least 40 MB.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(engine: str, workload: str, n: int, jobs: int) -> dict[str, Any]:
    import_peer(engine)
    graph = make_graph(workload, n)
    base_rss = rss_mb()
    t0 = time.perf_counter()
    runner = build_peer(engine, graph, jobs)
    t1 = time.perf_counter()
    values = runner()
    t2 = time.perf_counter()
    missing = set(graph.sinks) - set(values)
    if missing:
        raise RuntimeError(f"{engine} returned no value for {len(missing)} sink(s)")
    wall = t2 - t1
    return {
        "workload": workload,
        "tasks": n,
        "jobs": 1 if engine == "hamilton" else jobs,
        "wall_s": wall,
        "per_task_us": wall / n * 1e6,
        "build_s": t1 - t0,
        "checksum": checksum(graph, values),
        "base_rss_mb": base_rss,
        "peak_rss_mb": rss_mb(),
    }


def child_main(args: argparse.Namespace) -> int:
    # Hamilton's deep recursion (chain) needs headroom: run in a big-stack thread.
    sys.setrecursionlimit(1_000_000)
    threading.stack_size(512 * 1024 * 1024)
    out: dict[str, Any] = {}

    def target() -> None:
        out["result"] = run_child(args.peer, args.workload, args.tasks, args.jobs)

    worker = threading.Thread(target=target, name="peer-main")
    worker.start()
    threading.stack_size(0)  # engine pools get the default stack size
    worker.join()
    if "result" not in out:
        return 1
    print(json.dumps(out["result"]), flush=True)
    return 0


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


@dataclass
class Outcome:
    """One subprocess run.

    peak_rss_mb is the process's own VmHWM when it reports ``peak_rss_mb``
    (peers.py children and plait-bench do); otherwise wait4's ru_maxrss, an
    upper bound that includes the driver's own peak (rss_is_bound).
    """

    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    peak_rss_mb: float = 0.0
    rss_is_bound: bool = True


@dataclass
class Row:
    workload: str
    engine: str
    tasks: int
    jobs: int
    capped: bool
    outcomes: list[Outcome] = field(default_factory=list)
    status: str = "ok"

    def median(self, key: str) -> float | None:
        vals = [o.data[key] for o in self.outcomes if o.ok and key in o.data]
        return statistics.median(vals) if vals else None

    def peak_rss(self) -> float | None:
        vals = [o.peak_rss_mb for o in self.outcomes if o.ok]
        return max(vals) if vals else None

    def rss_is_bound(self) -> bool:
        return any(o.rss_is_bound for o in self.outcomes if o.ok)


def spawn(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> Outcome:
    """Run cmd, keep its last JSON stdout line and its own peak RSS (wait4)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    chunks: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda s=s, k=k: chunks.__setitem__(k, s.read()))
        for k, s in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for r in readers:
        r.start()
    deadline = time.monotonic() + timeout
    status, usage, timed_out = 0, None, False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            timed_out = True
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join()
    rss = usage.ru_maxrss / 1024 if usage else 0.0
    if timed_out:
        return Outcome(False, error=f"timeout after {timeout:.0f} s", peak_rss_mb=rss)
    if proc.returncode != 0:
        tail = " | ".join(chunks.get("err", "").strip().splitlines()[-3:])
        return Outcome(False, error=f"exit {proc.returncode}: {tail}", peak_rss_mb=rss)
    lines = [ln for ln in chunks.get("out", "").splitlines() if ln.startswith("{")]
    if not lines:
        return Outcome(False, error="no JSON line on stdout", peak_rss_mb=rss)
    return Outcome(True, data=json.loads(lines[-1]), peak_rss_mb=rss)


def engine_command(engine: str, workload: str, n: int, jobs: int) -> list[str]:
    if engine == "plait":
        # One cold run per process, like every peer: no warm-up, no in-process repeats.
        args = [workload, "--tasks", str(n), "--jobs", str(jobs), "--json"]
        return [str(PLAIT_BENCH), *args, "--warmup", "0", "--repeat", "1"]
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--peer", engine,
        "--workload", workload,
        "--tasks", str(n),
        "--jobs", str(jobs),
    ]  # fmt: skip


def check(outcome: Outcome, workload: str, n: int, expected: int) -> Outcome:
    """Normalise per-task time and verify the checksum (when one is given)."""
    if not outcome.ok:
        return outcome
    data = outcome.data
    # plait-bench may count wide's join as a task (N + 1); per-task time uses N.
    tasks_ok = {n, n + 1} if workload == "wide" else {n}
    if data.get("workload", workload) != workload or data.get("tasks", n) not in tasks_ok:
        outcome.ok, outcome.error = False, f"reported {data.get('workload')}/{data.get('tasks')}"
        return outcome
    if "peak_rss_mb" in data:
        outcome.peak_rss_mb, outcome.rss_is_bound = float(data["peak_rss_mb"]), False
    data["per_task_us"] = data["wall_s"] / n * 1e6
    if "checksum" in data and int(data["checksum"]) % (1 << 64) != expected % (1 << 64):
        outcome.ok = False
        outcome.error = f"checksum {data['checksum']} != expected {expected}"
    return outcome


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_row(row: Row, repeat: int, timeout: float, expected: int) -> Row:
    env = dict(os.environ, HAMILTON_TELEMETRY_ENABLED="false", PYTHONHASHSEED="0")
    for r in range(repeat):
        cmd = engine_command(row.engine, row.workload, row.tasks, row.jobs)
        outcome = check(spawn(cmd, timeout, env), row.workload, row.tasks, expected)
        row.outcomes.append(outcome)
        log(describe(row, r, outcome))
        if not outcome.ok:
            row.status = "timeout" if outcome.error.startswith("timeout") else "FAILED"
            break
    return row


def describe(row: Row, r: int, o: Outcome) -> str:
    head = f"  {row.workload:8} {row.engine:17} N={row.tasks:<7} j={row.jobs:<3} #{r + 1}"
    if not o.ok:
        return f"{head} ERROR {o.error}"
    d = o.data
    build = f" build {d['build_s']:.3f}s" if "build_s" in d else ""
    rss = f"rss {o.peak_rss_mb:.0f}MB"
    return f"{head} run {d['wall_s']:.3f}s{build} {d['per_task_us']:.1f}us/task {rss}"


@dataclass
class Plan:
    sizes: dict[str, int]
    repeat: int
    jobs: int
    timeout: float
    engines: list[str]
    workloads: list[str]
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)


def plan_rows(plan: Plan) -> list[Row]:
    rows: list[Row] = []
    for workload in plan.workloads:
        for engine in plan.engines:
            if workload == "sleepy":
                n, capped = SLEEPY_TASKS, False
                jobs = 1 if engine == "hamilton" else SLEEPY_JOBS
            else:
                want = plan.sizes[workload]
                n = min(want, ENGINE_MAX_TASKS.get(engine, {}).get(workload, want))
                capped = n < want
                jobs = 1 if engine == "hamilton" else plan.jobs
            rows.append(Row(workload, engine, n, jobs, capped))
    return rows


def fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table_rows(rows: list[Row]) -> list[list[str]]:
    plait = {r.workload: r for r in rows if r.engine == "plait" and r.status == "ok"}
    out: list[list[str]] = []
    for row in rows:
        per_task = row.median("per_task_us")
        ref = plait.get(row.workload)
        ref_us = ref.median("per_task_us") if ref else None
        ratio = per_task / ref_us if per_task and ref_us and row.engine != "plait" else None
        base = row.median("base_rss_mb")
        rss = row.peak_rss()
        graph_rss = rss - base if rss is not None and base is not None else None
        tasks = f"{row.tasks:,}" + (" (capped)" if row.capped else "")
        out.append([
            row.workload,
            row.engine,
            tasks,
            str(row.jobs),
            fmt(row.median("build_s"), ".3f"),
            fmt(row.median("wall_s"), ".3f"),
            fmt(per_task, ".1f"),
            ("≤" if row.rss_is_bound() else "") + fmt(rss, ".0f"),
            fmt(graph_rss, ".0f"),
            fmt(ratio, ".1f") + ("x" if ratio else ""),
            row.status,
        ])  # fmt: skip
    return out


HEADERS = [
    "workload",
    "engine",
    "tasks",
    "jobs",
    "build s",
    "run s (median)",
    "µs/task",
    "peak RSS MB",
    "RSS over import MB",
    "vs plait",
    "status",
]


TEXT_COLUMNS = {"workload", "engine", "status"}


def render_text(cells: list[list[str]]) -> str:
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]

    def line(cs: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cs, widths, strict=True)).rstrip()

    return "\n".join([line(HEADERS), line(["-" * w for w in widths]), *map(line, cells)])


def render_markdown(cells: list[list[str]]) -> str:
    def line(cs: list[str]) -> str:
        return "| " + " | ".join(cs) + " |"

    sep = line(["---" if h in TEXT_COLUMNS else "---:" for h in HEADERS])
    return "\n".join([line(HEADERS), sep, *map(line, cells)])


def footnotes(plan: Plan, rows: list[Row]) -> str:
    notes = [
        (
            f"Median of {plan.repeat} run(s), each in a fresh process; 'run s' excludes imports"
            " and graph construction ('build s'). µs/task = run s / tasks."
        ),
        (
            f"jobs = {plan.jobs} (cores) except sleepy (jobs = {SLEEPY_JOBS}, 10 ms tasks, ideal"
            " 0.2 s) and the sequential Hamilton driver (always 1)."
        ),
        "'(capped)': that peer ran fewer tasks than plait to keep the run short; compare µs/task.",
        "'vs plait' = peer µs/task / plait µs/task on the same workload in this run.",
        (
            "Peak RSS: the process's own high-water mark (VmHWM), max over runs; '≤' marks an"
            " upper bound from wait4 (includes the driver's peak). 'RSS over import' subtracts"
            " the Python interpreter + library baseline measured after imports."
        ),
        (
            f"Machine: {len(os.sched_getaffinity(0))} cores; load average at start"
            f" {' / '.join(f'{x:.2f}' for x in plan.load)} (1 / 5 / 15 min)."
        ),
    ]
    notes += [
        f"{r.status} {r.workload}/{r.engine}: {o.error}"
        for r in rows
        for o in r.outcomes
        if not o.ok
    ]
    skipped = [r for r in rows if not r.outcomes]
    notes += [f"not run: {r.workload}/{r.engine} ({r.status})" for r in skipped]
    return "\n".join(f"- {n}" for n in notes)


def driver_main(args: argparse.Namespace) -> int:
    quick = args.quick
    defaults = QUICK_SIZES if quick else DEFAULT_SIZES
    given = {"layered": args.tasks_layered, "chain": args.tasks_chain, "wide": args.tasks_wide}
    sizes = {w: given[w] or defaults[w] for w in defaults}
    if sizes["layered"] % LAYER_WIDTH or min(sizes.values()) < 1:
        raise SystemExit(f"sizes must be positive, layered a multiple of {LAYER_WIDTH}")
    engines = select(ENGINES, args.only)
    workloads = select(WORKLOADS, args.workloads)
    repeat = args.repeat or (1 if quick else 3)
    plan = Plan(sizes, repeat, args.jobs, args.timeout, engines, workloads, os.getloadavg())
    if plan.load[0] > 0.5:
        log(f"WARNING: load average {plan.load[0]:.2f}: other work on this machine adds noise")
    rows = plan_rows(plan)
    have_plait = PLAIT_BENCH.is_file() and os.access(PLAIT_BENCH, os.X_OK)
    if "plait" in engines and not have_plait:
        log(f"plait-bench not found at {PLAIT_BENCH}: plait rows skipped")
    started = time.perf_counter()
    expected_cache: dict[tuple[str, int], int] = {}
    for row in rows:
        if row.engine == "plait" and not have_plait:
            row.status = "skipped (no plait-bench)"
            continue
        key = (row.workload, row.tasks)
        if key not in expected_cache:
            expected_cache[key] = expected_checksum(make_graph(*key))
        run_row(row, plan.repeat, plan.timeout, expected_cache[key])
    log(f"total {time.perf_counter() - started:.0f} s")
    cells = table_rows(rows)
    print(render_markdown(cells) if args.markdown else render_text(cells))
    print()
    print(footnotes(plan, rows))
    if args.json_out:
        dump = [row_json(r) for r in rows]
        Path(args.json_out).write_text(json.dumps(dump, indent=1) + "\n")
    return 1 if any(r.status == "FAILED" for r in rows) else 0


def row_json(row: Row) -> dict[str, Any]:
    return {
        "workload": row.workload,
        "engine": row.engine,
        "tasks": row.tasks,
        "jobs": row.jobs,
        "capped": row.capped,
        "status": row.status,
        "runs": [
            {"ok": o.ok, "error": o.error, "peak_rss_mb": o.peak_rss_mb, **o.data}
            for o in row.outcomes
        ],
    }


def select(universe: Iterable[str], spec: str | None) -> list[str]:
    """Comma list; a family name selects its variants (hamilton -> hamilton*)."""
    items = list(universe)
    if not spec:
        return items
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [w for w in wanted if not any(i == w or i.startswith(w + "-") for i in items)]
    if unknown:
        raise SystemExit(f"unknown name(s) {unknown}; choose from {items}")
    return [i for i in items if any(i == w or i.startswith(w + "-") for w in wanted)]


def print_vectors() -> int:
    """Reference values for mirroring the generator in Rust."""
    rng = SplitMix64(SEED)
    first = [rng.next() for _ in range(5)]
    assert tuple(first[:3]) == SPLITMIX64_SEED42_FIRST
    print("splitmix64(42) first 5:", [hex(x) for x in first])
    deps = layered_graph(10_000)
    print("layered(10000) deps of tasks 100..104:", deps[100:105])
    print("layered(10000) deps of task 9999:", deps[9999])
    for workload, n in (
        ("layered", 1_000),
        ("layered", 10_000),
        ("layered", 100_000),
        ("sleepy", 200),
        ("chain", 10_000),
        ("wide", 100_000),
    ):
        print(f"checksum {workload}({n}) = {expected_checksum(make_graph(workload, n))}")
    print("sleepy(200) deps of tasks 10..12:", layered_graph(200, width=SLEEPY_WIDTH)[10:13])
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks-layered", type=int, help="N for layered (default 10000)")
    p.add_argument("--tasks-chain", type=int, help="N for chain (default 10000)")
    p.add_argument("--tasks-wide", type=int, help="N for wide (default 100000)")
    p.add_argument("--repeat", type=int, help="runs per row; median reported (default 3)")
    p.add_argument("--quick", action="store_true", help="small N, 1 repeat (smoke run)")
    p.add_argument("--only", help=f"engines, comma separated: {','.join(ENGINES)}")
    p.add_argument("--workloads", help=f"comma separated: {','.join(WORKLOADS)}")
    p.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)), help="default: cores")
    p.add_argument("--timeout", type=float, default=120.0, help="per run, seconds")
    p.add_argument("--markdown", action="store_true", help="Markdown table")
    p.add_argument("--json-out", help="also write every run as JSON to this file")
    p.add_argument("--print-vectors", action="store_true", help="generator test vectors")
    # Child mode.
    p.add_argument("--peer", choices=[e for e in ENGINES if e != "plait"])
    p.add_argument("--workload", choices=WORKLOADS)
    p.add_argument("--tasks", type=int)
    args = p.parse_args(argv)
    if args.peer and (args.workload is None or args.tasks is None):
        p.error("--peer needs --workload and --tasks")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.print_vectors:
        return print_vectors()
    if args.peer:
        return child_main(args)
    return driver_main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
