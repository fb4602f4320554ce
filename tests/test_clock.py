"""tests/date_moved.sh really moves the date: the suite's own clock runs ahead of the kernel's."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

SHIFT = os.environ.get("DIGESTBOT_TEST_DATE_SHIFT_DAYS")


@pytest.mark.skipif(not SHIFT, reason="only under tests/date_moved.sh")
def test_the_date_is_moved_ahead(tmp_path: Path) -> None:
    marker = tmp_path / "now"
    marker.write_text("")
    kernel = marker.stat().st_mtime  # the file system's clock is not moved
    moved = int(SHIFT or 0) * 86_400
    assert abs(time.time() - kernel - moved) < 3_600
    assert abs(datetime.now(UTC).timestamp() - kernel - moved) < 3_600
