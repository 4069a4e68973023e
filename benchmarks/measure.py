"""What every benchmark measures the same way: the process's peak memory."""

from __future__ import annotations

import sys


def peak_rss_mb() -> float | None:
    """The process's maximum resident set so far, in MB (imports included); None where the OS cannot say."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
