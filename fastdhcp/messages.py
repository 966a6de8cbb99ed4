"""Kea's log messages, as kea-dhcp4 2.2 writes them: the message ID, its text with the
arguments filled in, at Kea's severity, on Kea's logger. Operators grep for these IDs and their
tools parse the texts, so they are part of the interface (Kea's src/bin/dhcp4/dhcp4_messages.mes).

    kea_log("DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS", path)

writes ``DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS dynamic server reconfiguration succeeded with
file: PATH`` at INFO on ``kea-dhcp4.dhcp4`` (the Python logger ``fastdhcp.dhcp4``). fastdhcp's
own lines (without an ID) say more where it knows more; these stand beside them.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from .logs import logging_level, python_logger_name

DBGLVL_PKT_HANDLING = 15     # Kea's debug levels (log_dbglevels.cc, dhcp4_log.cc): drops,
DBG_DHCP4_DETAIL = 50        # and the details of a packet's processing


class Message(NamedTuple):
    severity: str            # Kea's: FATAL, ERROR, WARN, INFO, DEBUG
    logger: str              # Kea's logger name
    text: str                # with %1, %2 ... for the arguments, as in the .mes file
    debuglevel: int = 0


MESSAGES = {
    "DHCP4_STARTED": Message("INFO", "kea-dhcp4.dhcp4", "Kea DHCPv4 server version %1 started"),
    "DHCP4_SHUTDOWN": Message("INFO", "kea-dhcp4.dhcp4", "server shutdown"),
    "DHCP4_CONFIG_LOAD_FAIL": Message("ERROR", "kea-dhcp4.dhcp4",
                                      "configuration error using file: %1, reason: %2"),
    "DHCP4_INIT_FAIL": Message("ERROR", "kea-dhcp4.dhcp4", "failed to initialize Kea server: %1"),
    # the lease database's connection (dhcp4_messages.mes; fastdhcp.leases.pgsql)
    "DHCP4_DB_RECONNECT_LOST_CONNECTION": Message("INFO", "kea-dhcp4.dhcp4",
                                                  "database connection lost."),
    "DHCP4_DB_RECONNECT_SUCCEEDED": Message("INFO", "kea-dhcp4.dhcp4",
                                            "database connection recovered."),
    "DHCP4_DB_RECONNECT_DISABLED": Message("INFO", "kea-dhcp4.dhcp4",
                                           "database reconnect is disabled: max-reconnect-tries "
                                           "%1, reconnect-wait-time %2"),
    "DHCP4_DB_RECONNECT_FAILED": Message("ERROR", "kea-dhcp4.dhcp4",
                                         "maximum number of database reconnect attempts: %1, "
                                         "has been exhausted without success"),
    "DHCP4_DYNAMIC_RECONFIGURATION": Message(
        "INFO", "kea-dhcp4.dhcp4", "initiate server reconfiguration using file: %1, after "
        "receiving SIGHUP signal or config-reload command"),
    "DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS": Message(
        "INFO", "kea-dhcp4.dhcp4", "dynamic server reconfiguration succeeded with file: %1"),
    "DHCP4_DYNAMIC_RECONFIGURATION_FAIL": Message(
        "FATAL", "kea-dhcp4.dhcp4", "dynamic server reconfiguration failed with file: %1"),
    "DHCP4_DECLINE_LEASE": Message(
        "INFO", "kea-dhcp4.leases", "Received DHCPDECLINE for addr %1 from client %2. The lease "
        "will be unavailable for %3 seconds."),
    "DHCP4_DECLINE_LEASE_NOT_FOUND": Message(
        "WARN", "kea-dhcp4.dhcp4", "Received DHCPDECLINE for addr %1 from client %2, but no "
        "such lease found."),
    "DHCP4_DECLINE_LEASE_MISMATCH": Message(
        "WARN", "kea-dhcp4.dhcp4", "Received DHCPDECLINE for addr %1 from client %2, but the "
        "data doesn't match: received hwaddr: %3, lease hwaddr: %4, received client-id: %5, "
        "lease client-id: %6"),
    "DHCP4_PACKET_NAK_0001": Message("ERROR", "kea-dhcp4.bad-packets",
                                     "%1: failed to select a subnet for incoming packet, src %2, "
                                     "type %3"),
    "DHCP4_PACKET_DROP_0007": Message("DEBUG", "kea-dhcp4.bad-packets",
                                      "%1: failed to process packet: %2", DBGLVL_PKT_HANDLING),
    # what happens to a packet (dhcp4_srv.cc): per packet, so sampled (fastdhcp.eventlog)
    "DHCP4_LEASE_ADVERT": Message("INFO", "kea-dhcp4.leases", "%1: lease %2 will be advertised"),
    "DHCP4_LEASE_ALLOC": Message("INFO", "kea-dhcp4.leases",
                                 "%1: lease %2 has been allocated for %3 seconds"),
    "DHCP4_RELEASE": Message("INFO", "kea-dhcp4.leases", "%1: address %2 was released properly."),
    "DHCP4_PACKET_DROP_0001": Message(
        "DEBUG", "kea-dhcp4.bad-packets", "failed to parse packet from %1 to %2, received over "
        "interface %3, reason: %4", DBGLVL_PKT_HANDLING),
    "DHCP4_PACKET_DROP_0002": Message(
        "DEBUG", "kea-dhcp4.bad-packets", "%1, from interface %2: no suitable subnet configured "
        "for a direct client", DBGLVL_PKT_HANDLING),
    "DHCP4_PACKET_DROP_0003": Message(
        "DEBUG", "kea-dhcp4.bad-packets", "%1, from interface %2: it contains a foreign server "
        "identifier", DBGLVL_PKT_HANDLING),
    "DHCP4_PACKET_DROP_0004": Message(
        "DEBUG", "kea-dhcp4.bad-packets", "%1, from interface %2: missing msg-type option",
        DBGLVL_PKT_HANDLING),
    "DHCP4_PACKET_DROP_0005": Message("DEBUG", "kea-dhcp4.bad-packets",
                                      "%1: unrecognized type %2 in option 53", DBGLVL_PKT_HANDLING),
    "DHCP4_PACKET_DROP_0006": Message("DEBUG", "kea-dhcp4.bad-packets",
                                      "%1: unsupported DHCPv4 message type %2", DBGLVL_PKT_HANDLING),
    "DHCP4_PACKET_DROP_0009": Message(
        "DEBUG", "kea-dhcp4.bad-packets", "%1: Option 53 missing (no DHCP message type), is this "
        "a BOOTP packet?", DBGLVL_PKT_HANDLING),
    "DHCP4_PACKET_DROP_0010": Message("DEBUG", "kea-dhcp4.packets",
                                      "dropped as member of the special class 'DROP': %1",
                                      DBGLVL_PKT_HANDLING),
    "DHCP4_PACKET_NAK_0003": Message(
        "DEBUG", "kea-dhcp4.bad-packets", "%1: failed to advertise a lease, client sent ciaddr "
        "%2, requested-ip-address %3", DBG_DHCP4_DETAIL),
    "DHCP4_PACKET_NAK_0004": Message(
        "DEBUG", "kea-dhcp4.bad-packets", "%1: failed to grant a lease, client sent ciaddr %2, "
        "requested-ip-address %3", DBG_DHCP4_DETAIL),
    # the allocation engine (src/lib/dhcpsrv/alloc_engine_messages.mes)
    "ALLOC_ENGINE_V4_ALLOC_FAIL": Message(
        "WARN", "kea-dhcp4.alloc-engine", "%1: failed to allocate an IPv4 address after %2 "
        "attempt(s)"),
    "ALLOC_ENGINE_V4_ALLOC_FAIL_NO_POOLS": Message(
        "WARN", "kea-dhcp4.alloc-engine", "%1: no pools were available for the address "
        "allocation"),
    "ALLOC_ENGINE_V4_ALLOC_FAIL_SHARED_NETWORK": Message(
        "WARN", "kea-dhcp4.alloc-engine", "%1: failed to allocate an IPv4 address in the shared "
        "network %2: %3 subnets have no available addresses, %4 subnets have no matching pools"),
    "ALLOC_ENGINE_V4_ALLOC_FAIL_SUBNET": Message(
        "WARN", "kea-dhcp4.alloc-engine", "%1: failed to allocate an IPv4 lease in the subnet %2, "
        "subnet-id %3, shared network %4"),
    "DHCP4_CONFIG_COMPLETE": Message("INFO", "kea-dhcp4.dhcp4",
                                     "DHCPv4 server has completed configuration: %1"),
    # the lease file's compaction (Kea's src/lib/dhcpsrv/dhcpsrv_messages.mes)
    "DHCPSRV_MEMFILE_LFC_SETUP": Message(
        "INFO", "kea-dhcp4.dhcpsrv", "setting up the Lease File Cleanup interval to %1 sec"),
    "DHCPSRV_MEMFILE_LFC_START": Message("INFO", "kea-dhcp4.dhcpsrv",
                                         "starting Lease File Cleanup"),
    "DHCPSRV_MEMFILE_LFC_EXECUTE": Message("INFO", "kea-dhcp4.dhcpsrv",
                                           "executing Lease File Cleanup using: %1"),
    "DHCPSRV_MEMFILE_LFC_SPAWN_FAIL": Message(
        "ERROR", "kea-dhcp4.dhcpsrv", "lease file cleanup failed to run because kea-lfc "
        "process couldn't be spawned"),
    "DHCPSRV_MEMFILE_LFC_LEASE_FILE_REOPEN_FAIL": Message(
        "ERROR", "kea-dhcp4.dhcpsrv", "failed to reopen lease file %1 after preparing input "
        "file for lease file cleanup, reason: %2, new leases will not persist!"),
    # the control channel (Kea's src/lib/config/config_messages.mes, logger "commands")
    "COMMAND_RECEIVED": Message("INFO", "kea-dhcp4.commands", "Received command '%1'"),
    "COMMAND_PROCESS_ERROR1": Message("WARN", "kea-dhcp4.commands",
                                      "Error while processing command: %1"),
    "COMMAND_PROCESS_ERROR2": Message("WARN", "kea-dhcp4.commands",
                                      "Error while processing command: %1"),
    "COMMAND_SOCKET_CONNECTION_TIMEOUT": Message(
        "INFO", "kea-dhcp4.commands", "Timeout occurred for connection over socket %1"),
    "COMMAND_ACCEPTOR_START": Message(
        "INFO", "kea-dhcp4.commands", "Starting to accept connections via unix domain socket "
        "bound to %1"),
}


def kea_text(msg_id: str, *args) -> str:
    """``ID text`` with the arguments in place of %1, %2 ..., as Kea's log line shows it."""
    text = MESSAGES[msg_id].text
    for n in range(len(args), 0, -1):          # %10 before %1
        text = text.replace(f"%{n}", str(args[n - 1]))
    return f"{msg_id} {text}"


def kea_log(msg_id: str, *args) -> None:
    m = MESSAGES[msg_id]
    logging.getLogger(python_logger_name(m.logger)).log(
        logging_level(m.severity, m.debuglevel), "%s", kea_text(msg_id, *args))


# ---- how Kea names a client in its messages (Pkt4::getLabel) -----------------------------------

def hw_text(htype: int, hw: bytes, *, with_type: bool = True) -> str:
    """Kea's HWAddr::toText: ``hwtype=1 02:00:00:00:00:01`` (without the type for lease data)."""
    text = ":".join(f"{b:02x}" for b in hw)
    return f"hwtype={htype} {text}" if with_type else text


def client_id_text(cid: bytes | None) -> str:
    return ":".join(f"{b:02x}" for b in cid) if cid else "(none)"


def client_label(htype: int, hw: bytes, cid: bytes | None, xid: int) -> str:
    """Kea's packet label: ``[hwtype=1 02:..], cid=[01:02..], tid=0x1a2b``."""
    cid_part = ":".join(f"{b:02x}" for b in cid) if cid else "no info"
    return f"[{hw_text(htype, hw)}], cid=[{cid_part}], tid=0x{xid:x}"
