"""The webhook allow-list: what an entry means, which URLs a job may name, which resolved addresses a delivery may use."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, WebhookRefused
from core.webhook_targets import Target, check_target, parse_allow_list, parse_target, vetted_addresses

ALLOW = parse_allow_list("hooks.example.com, relay.example.com:8443, 127.0.0.1:9000, [::1]:9001, 10.1.0.0/16")


def test_entries_parse_to_hosts_ports_and_networks() -> None:
    assert ALLOW.hosts == {("hooks.example.com", None), ("relay.example.com", 8443), ("127.0.0.1", 9000),
                           ("::1", 9001)}
    assert [str(n) for n in ALLOW.networks] == ["10.1.0.0/16"]
    assert parse_allow_list("  ,  ") == parse_allow_list("")


@pytest.mark.parametrize("entry", ["bad host", "x.com:0", "x.com:70000", "[::1", "10.0.0.0/33", "a_b.com"])
def test_a_malformed_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="allow-list entry"):
        parse_allow_list(entry)


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://hooks.example.com/x?y=1", True), ("http://HOOKS.example.com.:8080/", True),
    ("https://relay.example.com:8443/", True), ("https://relay.example.com/", False),
    ("http://127.0.0.1:9000/", True), ("http://127.0.0.1:9001/", False), ("http://[::1]:9001/", True),
    ("http://10.1.2.3/", True), ("http://10.2.0.1/", False), ("http://evil.example.com/", False),
])
def test_a_url_host_must_be_listed(url: str, allowed: bool) -> None:
    if allowed:
        assert isinstance(check_target(url, ALLOW), Target)
    else:
        with pytest.raises(InvalidInput) as caught:
            check_target(url, ALLOW)
        assert caught.value.code == "webhook_host_not_allowed" and caught.value.fields == {
            "webhook": {"url": ["Host not allowed."]}}


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/", "http://u:p@hooks.example.com/", "http:///x",
                                 "http://hooks.example.com:99999/", "http://hooks.example.com/\u00e9",
                                 "http://hooks.example.com/a b", "https://hooks.example.com/" + "a" * 2048])
def test_a_malformed_url_is_invalid(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_target(url)
    assert caught.value.code == "invalid_webhook_url" and "url" in caught.value.fields["webhook"]


def test_a_target_keeps_path_query_and_default_port() -> None:
    assert parse_target("https://Hooks.Example.com/a/b?c=d#frag") == Target("https", "hooks.example.com", 443,
                                                                           "/a/b?c=d")


@pytest.mark.parametrize(("address", "port", "ok"), [
    ("93.184.216.34", 443, True),  # public: the listed name vouches for it
    ("127.0.0.1", 443, False), ("127.0.0.1", 9000, True), ("::ffff:127.0.0.1", 9000, True),
    ("::1", 9001, True), ("::1", 443, False), ("10.1.9.9", 443, True), ("10.9.9.9", 443, False),
    ("169.254.169.254", 80, False), ("192.168.1.1", 443, False), ("0.0.0.0", 443, False), ("224.0.1.1", 443, False),
])
def test_resolved_addresses_other_than_public_ones_must_be_listed(address: str, port: int, ok: bool) -> None:
    target = Target("https", "hooks.example.com", port, "/")
    if ok:
        assert vetted_addresses(target, [address], ALLOW) == [address]
    else:
        with pytest.raises(WebhookRefused, match=f"resolves to {address}"):
            vetted_addresses(target, ["93.184.216.34", address], ALLOW)
