"""``fastdhcp leases import|export``: dhcpd.leases <-> Kea memfile CSV, field by field, the round
trip, the error report, the command and its exit codes, and that fastdhcp's own loader reads what
the import writes. Epoch values were computed independently (``date -u -d ... +%s``)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fastdhcp.config import load_config
from fastdhcp.leases.dhcpd import (
    INFINITE_LIFETIME,
    NEVER,
    DhcpdLease,
    SkippedLease,
    format_leases,
    from_kea,
    parse_leases,
    to_kea,
)
from fastdhcp.leases.memfile import read_lease_file
from fastdhcp.leases.lease import KEA_V4_HEADER, LeaseState

REPO = Path(__file__).parent.parent

# As dhcpd 4.4 writes it (failover on, so tstp/tsfp/atsfp and backup leases), with a renewal of
# 10.0.0.11 appended at the end, one lease in a subnet Kea does not serve and one bad block.
DHCPD_LEASES = r'''# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

db-time-format local;

server-duid "\000\001\000\001-\006\212\341RT\000\0224V";

failover peer "dhcp-failover" state {
  my state normal at 2 2024/03/05 07:58:12;
  partner state normal at 2 2024/03/05 07:58:09;
  mclt 3600;
}

host printer-2 {
  dynamic;
  hardware ethernet 00:1b:a9:4c:11:02;
  fixed-address 10.0.0.250;
}

lease 10.0.0.11 {
  starts 1 2024/03/04 08:00:00;
  ends 1 2024/03/04 20:00:00;
  tstp 1 2024/03/04 20:00:00;
  cltt 1 2024/03/04 08:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet a4:83:e7:5c:1f:02;
  uid "\001\244\203\347\\\037\002";
  client-hostname "android-5d3e";
}
lease 10.0.0.10 {
  starts 2 2024/03/05 09:15:02;
  ends 2 2024/03/05 21:15:02;
  tstp 2 2024/03/05 21:15:02;
  cltt 2 2024/03/05 09:15:02;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 08:00:27:9a:9a:37;
  uid "\001\010\000'\232\2327";
  set vendor-class-identifier = "MSFT 5.0";
  client-hostname "DESKTOP-7QK2M1";
}
lease 10.0.0.12 {
  starts 2 2024/03/05 10:00:00;
  ends 3 2024/03/06 10:00:00;
  tstp 3 2024/03/06 10:00:00;
  cltt 2 2024/03/05 10:00:00;
  binding state abandoned;
  next binding state free;
  rewind binding state free;
}
lease 10.0.0.13 {
  starts 1 2024/03/04 06:30:00;
  ends 1 2024/03/04 18:30:00;
  tstp 1 2024/03/04 18:30:00;
  cltt 1 2024/03/04 06:30:00;
  binding state free;
  rewind binding state free;
  hardware ethernet 3c:22:fb:10:0a:7e;
  uid "\001<\"\373\020\012~";
}
lease 10.0.0.14 {
  starts 1 2024/03/04 06:30:00;
  ends 1 2024/03/04 18:30:00;
  tstp 1 2024/03/04 18:30:00;
  tsfp 1 2024/03/04 18:30:00;
  atsfp 1 2024/03/04 18:30:00;
  binding state free;
}
lease 10.0.1.20 {
  starts 1 2024/03/04 06:30:00;
  ends 1 2024/03/04 18:30:00;
  tstp 1 2024/03/04 18:30:00;
  tsfp 1 2024/03/04 18:30:00;
  atsfp 1 2024/03/04 18:30:00;
  binding state backup;
}
lease 10.0.1.21 {
  starts 5 2024/03/01 12:00:00;
  ends never;
  cltt 5 2024/03/01 12:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 00:16:3e:5b:c2:0a;
  uid 01:00:16:3e:5b:c2:0a;
  option agent.circuit-id "ge-0/0/1.0";
  option agent.remote-id 00:1b:21:aa:bb:cc;
  client-hostname "kvm-guest-7";
}
lease 10.0.1.22 {
  starts epoch 1709636400; # Tue Mar 05 11:00:00 2024
  ends epoch 1709658000; # Tue Mar 05 17:00:00 2024
  cltt epoch 1709636400; # Tue Mar 05 11:00:00 2024
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 00:50:56:01:02:03;
  client-hostname "build-agent, rack 4";
}
lease 192.168.50.5 {
  starts 2 2024/03/05 08:00:00;
  ends 2 2024/03/05 20:00:00;
  cltt 2 2024/03/05 08:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 52:54:00:12:34:56;
}
lease 10.0.0.30 {
  starts 2 2024/13/05 09:15:02;
  ends 2 2024/03/05 21:15:02;
  binding state active;
  hardware ethernet 52:54:00:ab:cd:ef;
}
lease 10.0.0.11 {
  starts 2 2024/03/05 08:00:00;
  ends 2 2024/03/05 20:00:00;
  tstp 2 2024/03/05 20:00:00;
  cltt 2 2024/03/05 08:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet a4:83:e7:5c:1f:02;
  uid "\001\244\203\347\\\037\002";
  set vendor-class-identifier = "android-dhcp-14";
  client-hostname "Pixel-8";
}
'''

# The Kea rows the sample must give, by address: 10.0.0.11 from its later block, 10.0.0.12
# abandoned (declined, no client), 10.0.0.13 free with a client (expired-reclaimed), 10.0.1.21
# never ends (infinite lifetime, expire = starts + 0xFFFFFFFF), the comma escaped as Kea does.
EXPECTED_ROWS = [
    "10.0.0.10,08:00:27:9a:9a:37,01:08:00:27:9a:9a:37,43200,1709673302,10,0,0,DESKTOP-7QK2M1,0,,0",
    "10.0.0.11,a4:83:e7:5c:1f:02,01:a4:83:e7:5c:1f:02,43200,1709668800,10,0,0,Pixel-8,0,,0",
    "10.0.0.12,,,86400,1709719200,10,0,0,,1,,0",
    "10.0.0.13,3c:22:fb:10:0a:7e,01:3c:22:fb:10:0a:7e,43200,1709577000,10,0,0,,2,,0",
    ("10.0.1.21,00:16:3e:5b:c2:0a,01:00:16:3e:5b:c2:0a,4294967295,6004261695,20,0,0,"
     "kvm-guest-7,0,,0"),
    "10.0.1.22,00:50:56:01:02:03,,21600,1709658000,20,0,0,build-agent&#x2c rack 4,0,,0",
]


def _lines_of(text: str, needle: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if line.startswith(needle)]


def _line_of(text: str, needle: str) -> int:
    [line] = _lines_of(text, needle)
    return line


MALFORMED_LINE = _line_of(DHCPD_LEASES, "lease 10.0.0.30 {")
SUBNETS = {"10.0.0.0/24": 10, "10.0.1.0/24": 20}


@pytest.fixture
def kea_config(tmp_path):
    path = tmp_path / "kea-dhcp4.json"
    path.write_text(json.dumps({"Dhcp4": {
        "interfaces-config": {"interfaces": ["*"]},
        "valid-lifetime": 43200,
        "subnet4": [
            {"id": 10, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.10 - 10.0.0.200"}]},
            {"id": 20, "subnet": "10.0.1.0/24", "pools": [{"pool": "10.0.1.10 - 10.0.1.200"}]},
        ],
    }}))
    return path


def _kea_file(tmp_path, rows, name="leases4.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in [KEA_V4_HEADER, *rows]))
    return path


def _leases(parsed) -> dict[str, DhcpdLease]:
    return {lease.address: lease for lease in parsed.leases}


# --- parsing --------------------------------------------------------------------------------------

def test_every_statement_of_the_sample_is_read():
    parsed = parse_leases(DHCPD_LEASES.encode())
    leases = _leases(parsed)
    assert sorted(leases) == ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14",
                              "10.0.1.20", "10.0.1.21", "10.0.1.22", "192.168.50.5"]

    desktop = leases["10.0.0.10"]
    assert (desktop.starts, desktop.ends, desktop.tstp, desktop.cltt) == (
        1709630102, 1709673302, 1709673302, 1709630102)
    assert (desktop.binding_state, desktop.next_binding_state) == ("active", "free")
    assert (desktop.hardware_type, desktop.hardware_address) == (
        "ethernet", bytes.fromhex("0800279a9a37"))
    assert desktop.uid == bytes.fromhex("010800279a9a37")       # \010 \000 ' \232 \232 7
    assert desktop.variables == {"vendor-class-identifier": "MSFT 5.0"}
    assert desktop.client_hostname == "DESKTOP-7QK2M1"
    assert desktop.line == _line_of(DHCPD_LEASES, "lease 10.0.0.10 {")

    # The renewal appended later replaces the first block whole.
    pixel = leases["10.0.0.11"]
    assert (pixel.starts, pixel.ends, pixel.client_hostname) == (1709625600, 1709668800,
                                                                  "Pixel-8")
    assert pixel.uid == bytes.fromhex("01a483e75c1f02")          # \\ is 0x5c, \037 is 0x1f
    assert pixel.variables == {"vendor-class-identifier": "android-dhcp-14"}
    assert pixel.line == _lines_of(DHCPD_LEASES, "lease 10.0.0.11 {")[-1]

    assert leases["10.0.0.12"].binding_state == "abandoned"
    assert leases["10.0.0.12"].hardware_address == leases["10.0.0.12"].uid == b""
    assert leases["10.0.0.13"].uid == bytes.fromhex("013c22fb100a7e")   # <, \", \373, \020...
    assert leases["10.0.1.20"].binding_state == "backup"

    guest = leases["10.0.1.21"]
    assert (guest.starts, guest.ends) == (1709294400, NEVER)
    assert guest.uid == bytes.fromhex("0100163e5bc20a")                  # the hex form
    assert guest.agent_options == {"agent.circuit-id": b"ge-0/0/1.0",
                                   "agent.remote-id": bytes.fromhex("001b21aabbcc")}

    agent = leases["10.0.1.22"]
    assert (agent.starts, agent.ends, agent.cltt) == (1709636400, 1709658000, 1709636400)
    assert agent.client_hostname == "build-agent, rack 4"


def test_the_malformed_block_is_reported_with_its_line_and_skipped():
    parsed = parse_leases(DHCPD_LEASES.encode())
    reason = f"lease 10.0.0.30: bad date '2 2024/13/05 09:15:02' (line {MALFORMED_LINE + 1})"
    assert parsed.errors == [(MALFORMED_LINE, reason)]
    assert "10.0.0.30" not in _leases(parsed)


def test_damage_costs_one_block_never_the_file():
    text = b'''lease 10.0.0.1 {
  starts 2 2024/03/05 09:15:02;
  ends 2 2024/03/05 21:15:02
}
lease 10.0.0.2 {
  starts 2 2024/03/05 09:15:02;
lease 10.0.0.3 {
  starts 2 2024/03/05 09:15:02;
  ends 2 2024/03/05 21:15:02;
  on commit { set ClientIP = binary-to-ascii(10, 8, ".", leased-address); if x { y; } }
  hardware ethernet 00:11:22:33:44:55;
}
class "voip" { match if substring(option vendor-class-identifier, 0, 4) = "Cisc"; }
subclass "voip" 1:00:11:22:33:44:66;
lease 10.0.0.300 { binding state active; }
lease 10.0.0.4 { hardware ethernet zz:11; }
}
ia-na "\001\000" { cltt 2 2024/03/05 09:15:02; }
lease 10.0.0.5 { binding state sleeping; uid "\377\000; }
lease 10.0.0.6 { starts never; }
'''
    parsed = parse_leases(text)
    assert [lease.address for lease in parsed.leases] == ["10.0.0.3", "10.0.0.6"]
    assert parsed.leases[0].hardware_address == bytes.fromhex("001122334455")
    assert parsed.errors == [
        (1, "lease 10.0.0.1: missing ';' (line 3)"),
        (5, "lease 10.0.0.2: no closing '}'"),
        (15, "lease 10.0.0.300: not an IPv4 address"),
        (16, "lease 10.0.0.4: bad hexadecimal value zz:11 (line 16)"),
        (17, "unexpected '}' skipped"),
        (18, "unknown statement 'ia-na' skipped"),
        (19, "lease 10.0.0.5: bad binding state 'sleeping' (line 19)"),
        (19, "unterminated string"),
    ]


@pytest.mark.parametrize("data", [b"", b"{", b"}}}", b"lease", b"lease 10.0.0.1", b'"',
                                  b"lease 10.0.0.1 {", bytes(range(256)), b"\xff\xfe;{;}"])
def test_garbage_never_raises(data):
    parsed = parse_leases(data)
    assert parsed.leases == []
    assert all(isinstance(line, int) and reason for line, reason in parsed.errors)


def test_written_blocks_read_back_as_the_same_leases():
    parsed = parse_leases(DHCPD_LEASES.encode())
    again = parse_leases(format_leases(parsed.leases, "test").encode())
    assert again.errors == []
    assert again.leases == parsed.leases


# --- dhcpd -> Kea ---------------------------------------------------------------------------------

def test_import_gives_kea_rows_field_by_field(kea_config):
    config = load_config(kea_config)
    subnets = {subnet.prefix: subnet.id for subnet in config.subnets}
    assert subnets == SUBNETS
    conversion = to_kea(parse_leases(DHCPD_LEASES.encode()).leases, subnets)
    assert [row.kea_row() for row in conversion.rows] == EXPECTED_ROWS
    assert conversion.rows[4].valid_lifetime == INFINITE_LIFETIME
    assert conversion.rows[4].expire == 1709294400 + 0xFFFFFFFF
    assert [row.state for row in conversion.rows] == [
        LeaseState.BOUND, LeaseState.BOUND, LeaseState.DECLINED, LeaseState.EXPIRED,
        LeaseState.BOUND, LeaseState.BOUND]
    assert conversion.skipped == [
        SkippedLease(_line_of(DHCPD_LEASES, "lease 10.0.0.14 {"), "10.0.0.14",
                     "no hardware address or uid"),
        SkippedLease(_line_of(DHCPD_LEASES, "lease 10.0.1.20 {"), "10.0.1.20",
                     "binding state backup"),
        SkippedLease(_line_of(DHCPD_LEASES, "lease 192.168.50.5 {"), "192.168.50.5",
                     "in no configured subnet"),
    ]
    assert conversion.errors == []


def test_leases_kea_cannot_hold_are_skipped_or_reported():
    leases = [
        DhcpdLease("10.0.0.1", line=1, starts=100, ends=100, hardware_address=b"\x01"),
        DhcpdLease("10.0.0.2", line=2, ends=200, hardware_address=b"\x02"),
        DhcpdLease("10.0.0.3", line=3, starts=300, ends=200, hardware_address=b"\x03"),
        DhcpdLease("10.0.0.4", line=4, starts=300, hardware_address=b"\x04"),
        DhcpdLease("10.0.0.5", line=5, cltt=100, ends=700, uid=b"\x00ab",
                   client_hostname="line\nbreak"),
        DhcpdLease("10.0.0.6", line=6, starts=1, ends=2, uid=b"\x00ab", binding_state="reserved"),
    ]
    conversion = to_kea(leases, {"10.0.0.0/8": 1, "10.0.0.0/24": 2})
    assert [row.kea_row() for row in conversion.rows] == [
        "10.0.0.5,,00:61:62,600,700,2,0,0,line&#x0abreak,0,,0"]      # longest prefix wins
    assert conversion.skipped == [
        SkippedLease(1, "10.0.0.1", "zero lifetime (ends = starts)"),
        SkippedLease(6, "10.0.0.6", "binding state reserved")]
    assert conversion.errors == [
        (2, "lease 10.0.0.2: no 'starts' or 'cltt'"),
        (3, "lease 10.0.0.3: lifetime -100s is outside Kea's 0..4294967295"),
        (4, "lease 10.0.0.4: no 'ends'")]


# --- Kea -> dhcpd ---------------------------------------------------------------------------------

def test_export_writes_blocks_as_dhcpd_does(tmp_path):
    path = _kea_file(tmp_path, EXPECTED_ROWS)
    records, bad_rows = read_lease_file(str(path), {10, 20})
    text = format_leases(from_kea(records), "fastdhcp 0.1.0 from leases4.csv")
    assert bad_rows == 0
    assert text.startswith(
        "# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
        "# This lease file was written by fastdhcp 0.1.0 from leases4.csv\n\n"
        "# authoring-byte-order entry is generated, DO NOT DELETE\n"
        "authoring-byte-order little-endian;\n\n"
        "lease 10.0.0.10 {\n")
    blocks = text.split("\n\n")[-1].split("}\n")
    assert blocks[1] == '''lease 10.0.0.11 {
  starts 2 2024/03/05 08:00:00;
  ends 2 2024/03/05 20:00:00;
  cltt 2 2024/03/05 08:00:00;
  binding state active;
  next binding state free;
  hardware ethernet a4:83:e7:5c:1f:02;
  uid "\\001\\244\\203\\347\\\\\\037\\002";
  client-hostname "Pixel-8";
'''
    assert blocks[2] == '''lease 10.0.0.12 {
  starts 2 2024/03/05 10:00:00;
  ends 3 2024/03/06 10:00:00;
  cltt 2 2024/03/05 10:00:00;
  binding state abandoned;
'''
    assert blocks[3].splitlines()[4:] == ["  binding state free;",
                                          "  hardware ethernet 3c:22:fb:10:0a:7e;",
                                          '  uid "\\001<\\"\\373\\020\\012~";']
    assert blocks[4].splitlines()[1:3] == ["  starts 5 2024/03/01 12:00:00;", "  ends never;"]
    assert blocks[5].splitlines()[-1] == '  client-hostname "build-agent, rack 4";'


def test_round_trip_dhcpd_kea_dhcpd_kea_keeps_every_row(tmp_path):
    first = to_kea(parse_leases(DHCPD_LEASES.encode()).leases, SUBNETS)
    path = _kea_file(tmp_path, [row.kea_row() for row in first.rows])
    records, _ = read_lease_file(str(path), set(SUBNETS.values()))
    reparsed = parse_leases(format_leases(from_kea(records), "test").encode())
    second = to_kea(reparsed.leases, SUBNETS)
    assert reparsed.errors == second.errors == second.skipped == []
    assert [row.kea_row() for row in second.rows] == [row.kea_row() for row in first.rows]


def test_export_reads_kea_2_2_files_last_row_wins_and_deletions(tmp_path):
    path = tmp_path / "kea-leases4.csv"
    path.write_text(
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,"
        "state,user_context\n"
        "10.0.0.7,00:11:22:33:44:55,,3600,1709640000,10,0,0,old,0,\n"
        "10.0.0.8,00:11:22:33:44:66,,3600,1709640000,10,0,0,,0,\n"
        "10.0.0.7,00:11:22:33:44:55,,7200,1709650000,10,0,0,new,0,\n"
        "10.0.0.8,00:11:22:33:44:66,,0,1709640000,10,0,0,,0,\n"
        "10.0.0.9,00:11:22:33:44:77,,3600,1709640000,10,0,0,,3,\n")
    records, bad_rows = read_lease_file(str(path), {10})
    leases = from_kea(records)
    assert bad_rows == 0
    assert leases == [
        DhcpdLease("10.0.0.7", starts=1709642800, ends=1709650000, cltt=1709642800,
                   next_binding_state="free", hardware_address=bytes.fromhex("001122334455"),
                   client_hostname="new"),
        DhcpdLease("10.0.0.9", starts=1709636400, ends=1709640000, cltt=1709636400,
                   binding_state="free", hardware_address=bytes.fromhex("001122334477"))]


# --- the command ----------------------------------------------------------------------------------

def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fastdhcp", "leases", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def test_cli_import_then_export(tmp_path, kea_config):
    dhcpd_file = tmp_path / "dhcpd.leases"
    dhcpd_file.write_text(DHCPD_LEASES)
    csv_file = tmp_path / "kea-leases4.csv"

    done = _run("import", str(dhcpd_file), "-c", str(kea_config), "-o", str(csv_file))
    assert done.returncode == 1                             # the malformed block
    assert done.stderr == (f"{dhcpd_file}:{MALFORMED_LINE}: lease 10.0.0.30: bad date "
                           f"'2 2024/13/05 09:15:02' (line {MALFORMED_LINE + 1})\n")
    assert done.stdout.splitlines() == [
        f"converted: 6 leases ({dhcpd_file} -> {csv_file})",
        ("skipped: 3 (1 no hardware address or uid, 1 binding state backup, "
         "1 in no configured subnet)"),
        "errors: 1 (listed on stderr; each named block was skipped)"]
    assert csv_file.read_text().splitlines() == [KEA_V4_HEADER, *EXPECTED_ROWS]

    # fastdhcp's own loader takes the file as it is.
    records, bad_rows = read_lease_file(str(csv_file), {10, 20})
    assert bad_rows == 0
    assert [record[0] for record in records] == [row.split(",")[0] for row in EXPECTED_ROWS]
    assert records[1] == ("10.0.0.11", bytes.fromhex("a483e75c1f02"),
                          bytes.fromhex("01a483e75c1f02"), 43200, 1709668800, 10,
                          int(LeaseState.BOUND), "Pixel-8")

    back = tmp_path / "dhcpd.leases.back"
    done = _run("export", str(csv_file), "-o", str(back))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"exported: 6 leases ({csv_file} -> {back})\n"
    assert to_kea(parse_leases(back.read_bytes()).leases, SUBNETS).rows == to_kea(
        parse_leases(DHCPD_LEASES.encode()).leases, SUBNETS).rows


def test_cli_clean_import_lists_skips_when_asked(tmp_path, kea_config):
    dhcpd_file = tmp_path / "dhcpd.leases"
    dhcpd_file.write_text(DHCPD_LEASES.replace("2024/13/05", "2024/03/05"))
    done = _run("import", str(dhcpd_file), "-c", str(kea_config), "-o",
                str(tmp_path / "out.csv"), "--verbose")
    assert (done.returncode, done.stderr) == (0, "")
    line = _line_of(DHCPD_LEASES, "lease 192.168.50.5 {")
    assert f"  {dhcpd_file}:{line}: lease 192.168.50.5: in no configured subnet" in (
        done.stdout.splitlines())
    assert done.stdout.startswith("converted: 7 leases")


def test_cli_exit_codes_for_bad_inputs(tmp_path, kea_config):
    missing = tmp_path / "missing"
    done = _run("import", str(missing), "-c", str(kea_config), "-o", str(tmp_path / "o.csv"))
    assert done.returncode == 2
    assert done.stderr == f"fastdhcp leases import: {missing}: No such file or directory\n"

    dhcpd_file = tmp_path / "dhcpd.leases"
    dhcpd_file.write_text(DHCPD_LEASES)
    bad_config = tmp_path / "bad.json"
    bad_config.write_text('{"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/33"}]}}')
    done = _run("import", str(dhcpd_file), "-c", str(bad_config), "-o", str(tmp_path / "o.csv"))
    assert done.returncode == 2
    assert done.stderr.endswith(f"{bad_config}: the configuration cannot be used\n")
    assert not (tmp_path / "o.csv").exists()

    done = _run("export", str(missing), "-o", str(tmp_path / "o.leases"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"fastdhcp leases export: {missing}: No such file or directory\n"

    done = _run("export", str(dhcpd_file), "-o", str(tmp_path / "o.leases"))
    assert done.returncode == 2
    assert "not a Kea DHCPv4 lease file" in done.stderr

    csv_file = _kea_file(tmp_path, [EXPECTED_ROWS[0], "10.0.0.99,zz,,1,2,10,0,0,,0,,0"])
    done = _run("export", str(csv_file), "-o", str(tmp_path / "o.leases"))
    assert done.returncode == 1
    assert f"{csv_file}:3: bad lease row skipped" in done.stderr
    assert done.stdout.splitlines() == [
        f"exported: 1 lease ({csv_file} -> {tmp_path / 'o.leases'})",
        "malformed rows: 1 (listed on stderr; each was skipped)"]

    done = _run("import", str(dhcpd_file), "-c", str(kea_config), "-o",
                str(tmp_path / "no-such-dir" / "o.csv"))
    assert done.returncode == 1
    assert "cannot write" in done.stderr
