"""kill -9 under load loses no ACKed lease and hands out no address twice after the restart.

Each round (fastdhcp/_lab/crashlab.py): the server in its own namespace, `fastdhcp bench` as a relay
in another, a SIGKILL at a seeded random moment of the load, then the lease file checked against
every ACK the generator got, and a restart on that file serving other clients. fsync is the
server's default durability; write (Kea's memfile behaviour) must survive a kill -9 too, since
the rows are in the OS before the ACKs leave.
"""

from __future__ import annotations

import pytest

from fastdhcp._lab import crashlab, netlab

lab = netlab.lab_fixture(scope="module")

ROUNDS = [("fsync", seed) for seed in (1, 2, 3, 4)] + [("write", seed) for seed in (5, 6)]


@pytest.fixture(scope="module")
def topology(lab):
    return crashlab.relay_topology(lab, "dsrv", "dgen")


@pytest.mark.parametrize("durability,seed", ROUNDS, ids=[f"{d}-seed{s}" for d, s in ROUNDS])
def test_kill9_loses_no_acked_lease(lab, topology, durability, seed):
    r = crashlab.kill9_round(lab, topology, lab.dir, seed=seed, durability=durability,
                             kill_after=crashlab.kill_moment(seed))
    summary = {k: v for k, v in r.items() if k not in ("lost", "duplicates",
                                                       "lost_after_restart")}
    # the kill landed mid-load: ACKs before it, the server died of it, exchanges cut off after
    assert r["server_status"] == -9, summary
    assert r["acks_before_kill"] > 0 and r["cut_off"] > 0, summary
    assert r["killed_under_load"], summary
    assert r["lost"] == [], summary
    assert r["restart_error"] is None and r["acks_after_restart"] > 0, summary
    assert r["duplicates"] == [], summary
    assert r["first_run_duplicates"] == r["restart_run_duplicates"] == 0, summary
    assert r["lost_after_restart"] == [], summary
    assert r["problems"] == [], summary


def test_the_check_sees_leases_lost_without_a_lease_file(lab, topology):
    """The control: durability none keeps no rows, so every ACKed lease is gone after the kill
    and the restarted server hands the first run's addresses to the new clients."""
    r = crashlab.kill9_round(lab, topology, lab.dir, seed=7, durability="none", kill_after=0.5)
    assert r["killed_under_load"] and r["rows_in_file"] == 0
    assert len(r["lost"]) == r["clients_checked"] > 0
    assert r["duplicates"] and all(d["holder_was_acked"] for d in r["duplicates"])
    assert r["problems"]
