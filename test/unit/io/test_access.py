"""Who may connect: loopback always, others only by the allow-list; entries are checked."""

import pytest

from emotion_perception.io.outputs.access import LOCAL_PAGES, allowed, is_loopback, networks


def test_loopback_is_always_allowed_and_others_only_when_listed():
    lan = networks(['192.168.1.0/24', '10.0.0.7', 'fd00::/8'])
    assert allowed('127.0.0.1', ()) and allowed('::1', ())
    assert allowed('192.168.1.20', lan) and allowed('10.0.0.7', lan)
    assert not allowed('192.168.2.20', lan) and not allowed('10.0.0.8', lan)
    assert allowed('fd00::1%eth0', lan)  # a scoped IPv6 address keeps its network


def test_an_ipv4_client_on_a_dual_stack_socket_is_judged_as_ipv4():
    assert allowed('::ffff:192.168.1.20', networks(['192.168.1.0/24']))
    assert not allowed('::ffff:8.8.8.8', networks(['192.168.1.0/24']))
    assert not allowed('not an address', networks(['0.0.0.0/0']))


def test_a_bad_allow_list_entry_is_named():
    with pytest.raises(ValueError, match="'192.168.1' is not an address or network"):
        networks(['10.0.0.1', '192.168.1'])


@pytest.mark.parametrize('host, local', [('127.0.0.1', True), ('::1', True),
                                         ('localhost', True), ('0.0.0.0', False),
                                         ('192.168.1.5', False)])
def test_listening_addresses_that_keep_the_server_on_this_machine(host, local):
    assert is_loopback(host) is local


def test_only_pages_served_from_this_machine_count_as_local():
    assert LOCAL_PAGES.fullmatch('http://localhost:8080')
    assert LOCAL_PAGES.fullmatch('https://127.0.0.1') and LOCAL_PAGES.fullmatch('http://[::1]:1')
    assert not LOCAL_PAGES.fullmatch('http://localhost.evil.example')
