"""Client classes at run time (Kea's class_cmds commands, which Debian's Kea 2.2 does not ship):
listed, read, added, updated and deleted over the control socket, with the hook's texts and
result codes; the next packet is classified by what the command left, a refused class changes
nothing, and config-write keeps the change."""

from __future__ import annotations

import json
import os

import pytest

from e2e import RawClient, control, control_config, new_xid, not_in_kea22  # noqa: F401
from e2e import raw, servers, topo  # noqa: F401  (fixtures)
from fastdhcp import reference
from fastdhcp._enums import MsgType
from fastdhcp._lab import netlab

pytestmark = [pytest.mark.root, not_in_kea22("libdhcp_class_cmds.so is not in Debian's Kea")]
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

PXE = {"name": "pxe", "test": "substring(option[60].hex, 0, 9) == 'PXEClient'",
       "boot-file-name": "bios.pxe", "comment": "BIOS ROMs"}
PHONES = {"name": "phones", "test": "option[60].text == 'phone' or member('pxe')",
          "option-data": [{"name": "domain-name", "data": "phones.example"}]}


@pytest.fixture
def ctl(lab, topo, servers):
    sock = lab.path(f"classes-{new_xid():x}.sock")
    cfg = control_config(topo, lab.path(f"classes-{new_xid():x}.csv"), sock)
    cfg["Dhcp4"]["client-classes"] = [PXE, PHONES]
    servers.start(cfg)
    return lambda command, arguments=None: control(sock, command, arguments)


def offer(raw, vendor_class: bytes):
    xid = new_xid()
    r = raw.ask(reference.discover(raw.mac, xid, prl=[1, 3, 15, 67],
                                   extra_options=[(60, vendor_class)]),
                xid=xid, types={MsgType.DHCPOFFER}, timeout=1.0, tries=2)
    assert r is not None
    return r.pkt


def test_the_configured_classes_are_listed_and_shown_as_kea_shows_them(ctl):
    assert ctl("class-list") == {"result": 0, "text": "2 classes found", "arguments": {
        "client-classes": [{"name": "pxe"}, {"name": "phones"}]}}
    assert ctl("class-get", {"name": "pxe"}) == {
        "result": 0, "text": "Class 'pxe' definition returned", "arguments": {"client-classes": [
            {"user-context": {"comment": "BIOS ROMs"}, "name": "pxe", "test": PXE["test"],
             "boot-file-name": "bios.pxe", "option-data": [], "next-server": "0.0.0.0",
             "server-hostname": ""}]}}
    assert ctl("class-get", {"name": "nope"}) == {"result": 3, "text": "Class 'nope' not found"}
    assert "class-add" in ctl("list-commands")["arguments"]


def test_an_added_class_classifies_the_next_packet_and_a_deleted_one_no_more(ctl, raw, lab):
    assert offer(raw, b"ubnt").option(15) != b"ap.example"
    ap = {"name": "ap", "test": "option[60].text == 'ubnt'",
          "option-data": [{"name": "domain-name", "data": "ap.example"}]}
    assert ctl("class-add", {"client-classes": [ap]}) == {"result": 0, "text": "Class 'ap' added"}
    assert offer(raw, b"ubnt").option(15) == b"ap.example"
    assert ctl("class-list")["text"] == "3 classes found"
    assert ctl("class-add", {"client-classes": [ap]}) == {
        "result": 1, "text": "Client Class: ap has already been defined"}
    # a class used by another's member() stays; one nobody names goes
    assert ctl("class-del", {"name": "pxe"}) == {
        "result": 1, "text": "Class 'pxe' is used by class 'phones'"}
    assert ctl("class-del", {"name": "ap"}) == {"result": 0, "text": "Class 'ap' deleted"}
    assert offer(raw, b"ubnt").option(15) != b"ap.example"
    assert ctl("class-del", {"name": "ap"}) == {"result": 3, "text": "Class 'ap' not found"}
    # config-write keeps what the commands did
    path = lab.path(f"written-{new_xid():x}.json")
    assert ctl("config-write", {"filename": path})["result"] == 0
    with open(path) as f:
        assert [c["name"] for c in json.load(f)["Dhcp4"]["client-classes"]] == ["pxe", "phones"]


def test_an_update_takes_the_class_in_its_place(ctl, raw):
    assert offer(raw, b"PXEClient:Arch:00000").file == b"bios.pxe"
    new = dict(PXE, **{"boot-file-name": "ipxe.efi"})
    assert ctl("class-update", {"client-classes": [new]}) == {
        "result": 0, "text": "Class 'pxe' updated"}
    assert offer(raw, b"PXEClient:Arch:00000").file == b"ipxe.efi"
    # phones (after pxe) still sees it through member()
    assert offer(raw, b"PXEClient:Arch:00000").option(15) == b"phones.example"
    assert ctl("class-update", {"client-classes": [{"name": "ghost"}]}) == {
        "result": 3, "text": "Class 'ghost' is not found"}
    assert ctl("class-update", {"client-classes": [dict(PXE, test="member('KNOWN')")]}) == {
        "result": 1, "text": "modification of the class 'pxe' would affect its dependency on "
                             "the KNOWN and/or UNKNOWN built-in classes. Such modification is "
                             "not allowed because there may be other classes depending on "
                             "those built-ins via the updated class"}


def test_a_class_the_checks_refuse_changes_nothing(ctl, raw):
    bad = {"name": "broken", "test": "option[60].text == "}
    a = ctl("class-add", {"client-classes": [bad]})
    assert a["result"] == 1 and "Dhcp4.client-classes[2].test" in a["text"], a
    assert ctl("class-list")["text"] == "2 classes found"
    assert offer(raw, b"PXEClient:Arch:00000").file == b"bios.pxe"


@pytest.mark.parametrize("command, arguments, text", [
    ("class-get", None, "no arguments specified for the 'class-get' command"),
    ("class-get", {"name": 1}, "'name' argument specified for the 'class-get' command is not a "
                               "string"),
    ("class-get", {"name": "a", "x": 1}, "invalid number of arguments 2 for the 'class-get' "
                                         "command. Expecting 'name' string"),
    ("class-del", {"nom": "a"}, "missing 'name' argument for the 'class-del' command"),
    ("class-add", {"classes": []}, "missing 'client-classes' argument for the 'class-add' "
                                   "command"),
    ("class-add", {"client-classes": {}}, "'client-classes' argument specified for the "
                                          "'class-add' command is not a list"),
    ("class-add", {"client-classes": [PXE, PHONES]}, "invalid number of classes specified for "
                                                     "the 'class-add' command. Expected one "
                                                     "class"),
    ("class-update", {"client-classes": ["pxe"]}, "invalid class definition specified for the "
                                                  "'class-update' command. Expected a map"),
    ("class-update", {"client-classes": [{"test": "member('ALL')"}]},
     "the first class definition is missing a mandatory 'name' parameter"),
])
def test_bad_arguments_get_the_hooks_texts(ctl, command, arguments, text):
    assert ctl(command, arguments) == {"result": 1, "text": text}
