"""Per-step timings: wall time, CPU time of the command's processes, peak memory, exit status passed on."""

import json
import sys

from analysis import timing


def test_record_measures_cpu_time_of_the_command_and_passes_its_status_on(tmp_path):
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    assert timing.record("busy", [sys.executable, "-c", busy], tmp_path) == 0
    rec = json.loads((tmp_path / "timings" / "busy.json").read_text())
    assert rec["status"] == 0 and rec["seconds"] >= 0.3
    assert 0.3 <= rec["cpu_seconds"] <= rec["seconds"] + 0.5  # one busy thread: CPU time about the wall time
    assert timing.record("idle", [sys.executable, "-c", "import time; time.sleep(0.4)"], tmp_path) == 0
    idle = json.loads((tmp_path / "timings" / "idle.json").read_text())
    assert idle["seconds"] >= 0.4 and idle["cpu_seconds"] < idle["seconds"] - 0.1  # sleeping costs no CPU
    assert timing.record("fail", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path) == 3
    times = timing.build_times(tmp_path)
    assert times["cpu_seconds"] == round(sum(r["cpu_seconds"] for r in times["steps_detail"].values()), 3)


def test_build_times_without_cpu_records_says_none(tmp_path):
    (tmp_path / "timings").mkdir()
    old = {"step": "bayes", "seconds": 1.0, "start": 0.0, "end": 1.0, "peak_rss_mb": 10.0, "status": 0}
    (tmp_path / "timings" / "bayes.json").write_text(json.dumps(old))
    assert timing.build_times(tmp_path)["cpu_seconds"] is None
    assert timing.build_times(tmp_path / "nothing") == {}
