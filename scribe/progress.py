"""Progress for a log line, for runs without a terminal (Colab's `!python`, subprocesses): no tqdm bar
shows there, so each log line carries the rate and the time left."""
from __future__ import annotations


def duration(seconds: float) -> str:
    """12s, 4m05s, 2h03m."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def progress(step: int, total: int, first_step: int, elapsed: float) -> str:
    """", 8.31 steps/s, ETA 12m30s": the rate over the steps this run has done (checkpoints and
    validation included, so the ETA holds), and the time the remaining steps take at that rate."""
    done = step - first_step
    if done <= 0 or elapsed <= 0:
        return ""
    rate = done / elapsed
    return f", {rate:.2f} steps/s, ETA {duration((total - step) / rate)}"
