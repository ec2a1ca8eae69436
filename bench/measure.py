"""Timing one command in a new process: wall time from outside, CPU and peak memory from time(1)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import progress

RUSAGE_WRAPPER = '''\
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    out.write(f"{ru.ru_utime} {ru.ru_stime} {ru.ru_maxrss}\\n")
sys.exit(rc)
'''


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float


@dataclass
class Row:
    n: int
    command: str
    argv: list[str]
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.samples)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def wall_min(self) -> float:
        return min(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def peak_mib(self) -> float:
        return max(s.rss_mib for s in self.samples)


class Meter:
    """Runs a command in a new process; wall time from outside, CPU and peak RSS from time(1) or a wrapper."""

    def __init__(self, work: Path):
        self.work = work
        self.timefile = work / "time.out"
        self.wrapper = work / "rusage_wrapper.py"
        self.wrapper.write_text(RUSAGE_WRAPPER, encoding="utf-8")
        self.gnu_time = self._gnu_time()

    def _gnu_time(self) -> str | None:
        exe = "/usr/bin/time"
        if not os.access(exe, os.X_OK):
            return None
        probe = subprocess.run([exe, "-f", "%M", "-o", str(self.timefile), "true"], capture_output=True)
        return exe if probe.returncode == 0 and self.timefile.read_text().strip().isdigit() else None

    @property
    def method(self) -> str:
        return "/usr/bin/time -f '%U %S %M'" if self.gnu_time else "getrusage(RUSAGE_CHILDREN) in a wrapper process"

    def run(self, argv: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> Sample:
        self.timefile.unlink(missing_ok=True)
        if self.gnu_time:
            cmd = [self.gnu_time, "-f", "%U %S %M", "-o", str(self.timefile), *argv]
        else:
            cmd = [sys.executable, str(self.wrapper), str(self.timefile), *argv]
        with open(log, "wb") as out:
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
            wall = time.perf_counter() - start
        if proc.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"exit {proc.returncode}: {' '.join(argv)}\n{tail}")
        user, system, rss_kib = self.timefile.read_text().split()[-3:]
        return Sample(wall, float(user) + float(system), int(float(rss_kib)) / 1024)


def measure(meter: Meter, row: Row, runs: int, cwd: Path, env: dict[str, str], log: Path,
            before: Callable[[int], None] | None = None, timeout: float = 3600) -> Row:
    for i in range(runs):
        if before is not None:
            before(i)
        try:
            sample = meter.run(row.argv, cwd, env, log, timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            row.error = str(exc)
            progress(f"N={row.n} {row.command}: FAILED\n{exc}")
            return row
        row.samples.append(sample)
        progress(f"N={row.n} {row.command} run {i + 1}/{runs}: {sample.wall:.2f} s wall, {sample.cpu:.2f} s cpu, "
                 f"{sample.rss_mib:.0f} MiB")
    return row
