"""The lease file and what reads or writes it: the lease model (``lease``), Kea's memfile CSV
(``memfile``), its compaction, Kea's LFC (``lfc``), and dhcpd.leases conversion (``dhcpd``)."""
