"""Several fastdhcp servers on one PostgreSQL lease database, active at once on the same pools,
fenced so that no address ever has two writers (``ownership``: the shards, their owners and
epochs; the server applies what it owns).

Every pool is cut into ``n`` contiguous blocks, one per shard; an address is written only by
its shard's owner. A packet that names an address (option 50, else ciaddr) is its shard's; a
client's first DISCOVER is the shard of its client id (FNV-1a, ``Engine.shard_of``). Every
server hears every packet (relays list them all) and answers only its own shards'. Ownership
lives in ``fastdhcp.shard`` (created by ``fastdhcp db init --shards N``): an owner, an epoch
(the fencing token) and an ownership lease renewed on the database's clock. Every commit
transaction first locks its server's shard rows FOR SHARE and checks owner and epochs (the
fence, ``pg_temp.fastdhcp_fence``), so a server that lost a shard (paused, cut off, slow) can
no longer commit, hence no longer ACK, for it; a takeover waits for a commit holding the lock.
"""
