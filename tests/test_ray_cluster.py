"""`recommend --all --engine ray` against a Ray cluster named by RECOLM_RAY_ADDRESS gives the default path's top-K.

The cluster is a real local head node (`ray start --head --block` in its own process group, ports picked free so
it cannot clash with another Ray on this machine); the CLI runs in a subprocess, so nothing of this test's Ray
state leaks into it: it connects by the address alone, ships RecoLM's code with the job and scores there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HEAD_START_S = 90


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture
def ray_head() -> Iterator[tuple[str, Path]]:
    """A Ray head node on 127.0.0.1 with 2 CPUs; yields its address and its temp folder, and stops every process
    it started."""
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.skip(f"no `ray` command next to {sys.executable}")
    gcs, agent, agent_grpc, metrics, env_agent, dash = _free_ports(6)
    temp = tempfile.mkdtemp(prefix="rh-", dir="/tmp")  # short: Ray's socket paths must stay under 108 bytes
    log = Path(temp) / "head.log"
    cmd = [str(ray_bin), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(gcs),
           "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp,
           "--dashboard-agent-listen-port", str(agent),
           "--dashboard-agent-grpc-port", str(agent_grpc), "--metrics-export-port", str(metrics),
           "--runtime-env-agent-port", str(env_agent), "--dashboard-port", str(dash)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"127.0.0.1:{gcs}"
    try:
        deadline = time.monotonic() + HEAD_START_S
        while not _head_answers(address):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = f"exited {proc.returncode}" if proc.poll() is not None else f"no answer in {HEAD_START_S} s"
                pytest.skip(f"`ray start --head` did not come up ({why}): {log.read_text()[-600:]}")
            time.sleep(1)
        yield address, Path(temp)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # --block: ray start stops the head's processes on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        subprocess.run(["rm", "-rf", temp], check=False)


def _head_answers(address: str) -> bool:
    host, port = address.split(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_recommend_all_on_a_ray_cluster_address_equals_the_default_path(ray_head, demo_store, capsys):
    from core.__main__ import main
    from db.engine import session_scope
    from db.recommendations import read_batch

    assert main(["recommend", "--all", "--json", "--no-reasons"]) == 0
    local = json.loads(capsys.readouterr().out)
    address, head_dir = ray_head
    env = {**os.environ, "RECOLM_RAY_ADDRESS": address, "RECOLM_DATABASE_URL": demo_store}
    proc = subprocess.run([sys.executable, "-m", "core", "recommend", "--all", "--json", "--no-reasons",
                           "--engine", "ray", "--workers", "2"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    on_cluster = json.loads(proc.stdout)
    assert on_cluster["engine"] == "ray" and on_cluster["partitions"] >= 2
    assert on_cluster["rows"] == local["rows"] == 8000
    # The scoring ran on the head's node (its workers log under the head's folder), not on a local Ray.
    assert list(head_dir.glob("session_*/logs/worker-*.out")), "no worker ran on the cluster"
    with session_scope(demo_store) as s:
        a, b = read_batch(s, local["batch_id"]), read_batch(s, on_cluster["batch_id"])
    cols = ["user_id", "rank", "item_id"]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))
