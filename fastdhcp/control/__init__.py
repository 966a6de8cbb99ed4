"""The control channel: Kea's commands, answered by a running server.

One idea per module:

* ``answers``: Kea's answer shape and result codes; ``CommandError`` for a refusal.
* ``registry``: the commands by Kea's name (``@command``), argument checks with Kea's texts.
* ``dispatch``: one command document to its answer (Kea's parseCommand and handleCommand).
* ``jsonfeed``: where one JSON command ends in a byte stream (Kea's JSONFeed).
* ``unix``: Kea's unix control socket (one command per connection, 10 s receive timeout).
* ``http``: the HTTP/HTTPS control socket of kea-ctrl-agent and Kea 3 (basic auth, TLS).
* ``channel``: the listeners a configuration asks for, opened and closed on reload.
* ``daemon``: kea-dhcp4's own commands (config-*, status-get, dhcp-disable, shutdown ...).
* ``leases``: Kea's lease_cmds hook (lease4-*), built in.
* ``reservations``, ``classes``: Kea's host_cmds and class_cmds hooks, on the configuration.
* ``stats``: Kea's statistics (statistic-*, stat-lease4-get), with samples.
* ``metrics``: the Prometheus exposition of the same statistics.

Every listener runs on the server's own loop; a command that walks many leases does it in
slices, so packet batches run in between.
"""
