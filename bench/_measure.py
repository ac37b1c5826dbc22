"""Run a command; write its wall time, exit code and peak RSS as JSON.

Usage: ``python bench/_measure.py RESULT.json CMD [ARG ...]``

Used by the benchmarks as a small, fresh, stdlib-only parent for each timed command. The
peak is the command's own: the high-water mark of its memory (``VmHWM`` in
``/proc/PID/status``, which starts again with the new program at ``exec``), read every
20 ms until it exits; it only grows, so the last reading is the peak but for the final
instant. ``ru_maxrss`` from ``wait4`` is not used where ``/proc`` is there: Linux carries
the RSS of the spawning processes over ``fork``/``exec`` into it (a command started by a
benchmark holding 7 GB reported 7 GB though it never used more than 3.9), so it is kept
only as the fallback.
"""

import json
import os
import subprocess
import sys
import time


def high_water_kib(pid: int | str = "self") -> int | None:
    """The memory high-water mark of process ``pid`` (``"self"``: this one) in KiB, or None
    where ``/proc`` does not say."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def main() -> int:
    result, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = high_water_kib(proc.pid) or peak
        time.sleep(0.02)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
    with open(result, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "seconds": seconds,
                "returncode": proc.returncode,
                "maxrss_kib": peak if peak is not None else usage.ru_maxrss,
            },
            fh,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
