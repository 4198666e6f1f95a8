"""The teacher's view of the Ray cluster the class trains on: its machines, their CPUs and GPUs,
what each one trains, and a link to Ray's own dashboard when it runs.

The server never imports Ray: the nodes are read by a short child process
(`python -m core.training.ray_jobs nodes ADDRESS`), at most every CLUSTER_SECONDS, and what each
node trains comes from the run folders (ray.json names the node a run was placed on).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import streamlit as st

from core import i18n
from core.i18n import N_, _
from core.runs.store import Run
from core.training.ray_jobs import ray_info
from dashboard.text import plain

CLUSTER_SECONDS = 10.0
REPO_ROOT = Path(__file__).resolve().parents[2]


@st.cache_data(ttl=CLUSTER_SECONDS, show_spinner=False, max_entries=4)
def read_cluster(address: str, language: str = "en") -> dict:
    """{"nodes": [...], "dashboard": url or None}, or {"error": why} when Ray cannot be
    reached (never raises: the page says so and goes on). `language`: that of the error's
    words (part of the cache's key)."""
    command = [sys.executable, "-m", "core.training.ray_jobs", "nodes", address]
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            "error": _("the Ray cluster at {address} did not answer within 60 s").format(
                address=address
            )
        }
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return {
            "error": lines[-1][:300]
            if lines
            else _("exit code {code}").format(code=done.returncode)
        }
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": _("the cluster's answer could not be read")}


# The nodes table's columns, as the teacher reads them.
NODE_COLUMNS = {
    "machine": N_("machine"),
    "state": N_("state"),
    "CPUs": "CPUs",
    "GPUs": "GPUs",
    "training": N_("training"),
}


def nodes_frame(nodes: list[dict], training: dict[str, list[str]]) -> pd.DataFrame:
    rows = []
    for node in sorted(nodes, key=lambda n: (not n["alive"], n["node_ip"] or "", n["node_id"])):
        rows.append(
            {
                "machine": f"{node['node_ip']} ({node['node_id'][:8]})",
                "state": _("alive") if node["alive"] else _("dead"),
                "CPUs": f"{node['cpus']:g}",
                "GPUs": f"{node['gpus']:g}",
                "training": ", ".join(training.get(node["node_id"], [])) or "-",
            }
        )
    return pd.DataFrame(rows)


def cluster_panel(address: str, runs_root: Path, active_ids: list[str]) -> None:
    """The cluster, for the teacher (or anyone outside classroom mode)."""
    with st.expander(
        _("Ray cluster at {address}").format(address=address), expanded=True, icon=":material/lan:"
    ):
        view = read_cluster(address, i18n.language())
        if "error" in view:
            st.error(
                _(
                    "Could not read the Ray cluster: {error}. Runs stay queued until it answers; "
                    "is `ray start --head` running on this machine?"
                ).format(error=plain(view["error"]))
            )
            return
        training: dict[str, list[str]] = {}
        for run_id in active_ids:
            info = ray_info(Run(runs_root / run_id))
            if info.get("placed") and info.get("node_id"):
                training.setdefault(info["node_id"], []).append(run_id)
        nodes = view["nodes"]
        alive = [n for n in nodes if n["alive"]]
        machines = (
            _("1 machine, {cpus:g} CPUs and {gpus:g} GPUs.")
            if len(alive) == 1
            else _("{count} machines, {cpus:g} CPUs and {gpus:g} GPUs.")
        ).format(
            count=len(alive),
            cpus=sum(n["cpus"] for n in alive),
            gpus=sum(n["gpus"] for n in alive),
        )
        st.caption(
            machines
            + " "
            + _(
                "Ray's scheduler places each run on a machine with the CPUs (or the GPU) it asks"
                " for; add a machine with `ray start --address=<this machine>:6379`."
            )
        )
        st.dataframe(
            nodes_frame(nodes, training).rename(
                columns=lambda column: _(NODE_COLUMNS.get(column, column))
            ),
            hide_index=True,
            use_container_width=True,
        )
        if view.get("dashboard"):
            st.link_button(_("Ray's dashboard"), view["dashboard"], icon=":material/open_in_new:")
