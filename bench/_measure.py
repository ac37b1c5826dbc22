"""Run a command; write its wall time, exit code and peak RSS (``ru_maxrss``) as JSON.

Usage: ``python bench/_measure.py RESULT.json CMD [ARG ...]``

Used by ``evaluate.py`` as a small, fresh, stdlib-only parent for each timed command: Linux
carries the high-water RSS of the *spawning* process over ``vfork``/``exec`` into the child's
``ru_maxrss``, so a command spawned directly from the (large) benchmark process would inherit
the benchmark's own peak. Spawned from this ~10 MB process, ``ru_maxrss`` is the child's own.
"""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    result, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
    with open(result, "w", encoding="utf-8") as fh:
        json.dump(
            {"seconds": seconds, "returncode": proc.returncode, "maxrss_kib": usage.ru_maxrss}, fh
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
