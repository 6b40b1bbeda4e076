"""perf: recording the server, reading each sample's call chain and demangling its symbols."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from ..console import log
from ..procstats import process_tree
from ..runs import RunFailed
from ..servers import STOP_GRACE_S

KERNEL_DSOS = ("[kernel.kallsyms]", "[k]")

PERF_READY_TIMEOUT_S = 15.0
"""How long perf may take to attach to the server before the run fails."""

TOOL_TIMEOUT_S = 300
"""The longest `perf script` or `swift demangle` may take."""


@dataclass(frozen=True)
class Frame:
    """One frame of a call chain: its symbol as perf prints it (mangled) and its library or binary."""

    symbol: str
    dso: str

    @property
    def in_kernel(self) -> bool:
        return self.dso in KERNEL_DSOS

    @property
    def library(self) -> str:
        """The file name of the library or binary ("libc.so.6", "gatehouse", "[kernel.kallsyms]")."""
        return os.path.basename(self.dso)


class PerfRecorder:
    """`perf record` of one process for a fixed time, in a session of its own so it can be stopped."""

    def __init__(self, pid: int, frequency: int, seconds: int, data_path: Path, cpu_prefix: list[str]) -> None:
        self.data_path = data_path
        self.log_path = data_path.with_suffix(".log")
        record = ["perf", "record", "-e", "cpu-clock", "-F", str(frequency), "-g", "-p", str(pid)]
        self.argv = cpu_prefix + record + ["-o", str(data_path), "--", "sleep", str(seconds)]
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        """Start perf and wait until it records (its `sleep` workload runs once the events are enabled)."""
        self.data_path.unlink(missing_ok=True)
        self._log = open(self.log_path, "wb")
        self._log.write(("$ " + " ".join(self.argv) + "\n").encode())
        self._log.flush()
        self.process = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + PERF_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RunFailed(f"perf record exited with {self.process.returncode}: {self._tail()}")
            if self._workload_running():
                return
            time.sleep(0.05)
        raise RunFailed(f"perf record did not start recording within {PERF_READY_TIMEOUT_S:.0f} s: {self._tail()}")

    def _workload_running(self) -> bool:
        """True once perf's child has exec'd `sleep`, which perf does only after enabling the events."""
        assert self.process is not None
        for pid in process_tree(self.process.pid)[1:]:
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "sleep":
                    return True
            except OSError:
                continue
        return False

    def wait(self, timeout_s: float) -> None:
        """Wait for perf to finish writing; RunFailed if it fails or takes longer than `timeout_s`."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as error:
            raise RunFailed(f"perf record did not finish within {timeout_s:.0f} s") from error
        if code != 0 or not self.data_path.is_file():
            raise RunFailed(f"perf record exited with {code}: {self._tail()}")

    def stop(self) -> None:
        """SIGINT to perf's group (perf writes its data and ends the workload), then SIGKILL; safe twice."""
        process = self.process
        if process is not None and process.poll() is None:
            for sig in (signal.SIGINT, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=STOP_GRACE_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log is not None:
            self._log.close()
            self._log = None

    def _tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return ""


_FRAME_LINE = re.compile(r"^\s+[0-9a-f]+\s+(?P<symbol>.*?)\s+\((?P<dso>[^()]*)\)\s*$")


def read_samples(data_path: Path) -> Iterator[list[Frame]]:
    """Each sample's call chain, leaf first, from `perf script` (symbols left mangled)."""
    argv = ["perf", "script", "-i", str(data_path), "--no-demangle", "-F", "comm,tid,ip,sym,dso"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    started = time.monotonic()
    frames: list[Frame] = []
    try:
        for line in process.stdout:
            if time.monotonic() - started > TOOL_TIMEOUT_S:
                raise RunFailed(f"perf script took longer than {TOOL_TIMEOUT_S} s")
            match = _FRAME_LINE.match(line)
            if match:
                frames.append(Frame(match["symbol"], match["dso"]))
            elif not line.strip() and frames:
                yield frames
                frames = []
        if frames:
            yield frames
    finally:
        process.kill()
        process.wait()


def demangle(symbols: list[str], simplified: bool) -> dict[str, str]:
    """Each symbol demangled by `swift demangle` (full names, or --simplified ones without modules), then
    by c++filt if installed (the Swift runtime's C++ symbols).

    Symbols that are neither come back unchanged; so does everything if a demangler fails.
    """
    names = _filter_lines(["swift", "demangle"] + (["--simplified"] if simplified else []), symbols)
    if shutil.which("c++filt") is not None:
        names = _filter_lines(["c++filt"], names)
    return dict(zip(symbols, names))


def _filter_lines(argv: list[str], lines: list[str]) -> list[str]:
    """`lines` passed through the filter `argv`, one line out for each line in; `lines` if it fails."""
    try:
        done = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT_S)
        out = done.stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        out = []
    if len(out) != len(lines):
        log(f"{argv[0]} gave {len(out)} lines for {len(lines)} symbols; keeping them as they were")
        return lines
    return out


def profile_samples(data_path: Path) -> tuple[list[list[Frame]], dict[str, str], dict[str, str]]:
    """The samples of a perf.data file, and the full and simplified demangled names of their symbols."""
    samples = list(read_samples(data_path))
    symbols = sorted({frame.symbol for frames in samples for frame in frames})
    return samples, demangle(symbols, simplified=False), demangle(symbols, simplified=True)
