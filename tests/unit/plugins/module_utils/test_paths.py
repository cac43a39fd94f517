# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one path builder (``_paths``) and the name rules behind it: a value is one segment, encoded
whole; dot segments in any encoding and names a service refuses fail naming the option."""

from __future__ import annotations

import pytest
import requests

from ansible_collections.kedaops.aks.plugins.module_utils import _azure_servicebus as servicebus
from ansible_collections.kedaops.aks.plugins.module_utils import _k8s_api as k8s
from ansible_collections.kedaops.aks.plugins.module_utils import _option_rules as rules
from ansible_collections.kedaops.aks.plugins.module_utils._errors import OptionError
from ansible_collections.kedaops.aks.plugins.module_utils._paths import Segment, build, resource_id

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


@pytest.mark.parametrize("value, encoded", [
    ("queue-1", "queue-1"),
    ("a/b", "a%2Fb"),
    ("ä", "%C3%A4"),
    (" a", "%20a"),
    ("a?b#c", "a%3Fb%23c"),
    ("{x}", "%7Bx%7D"),
    ("a..b", "a..b"),
])
def test_a_segment_is_encoded_whole(value, encoded):
    assert build("queues", Segment("name", value)) == "/queues/" + encoded


@pytest.mark.parametrize("value", [".", "..", " .. ", "%2e", "%2e%2e", "%2E%2E", "%252e%252e", "a/../../x",
                                   "./x", "a/", "a%2F..%2Fb", "a%252F..%252Fb", "..\\x"])
def test_empty_and_dot_segments_are_refused_in_any_encoding(value):
    with pytest.raises(OptionError, match=r"^name: .*empty, '\.' or '\.\.' path segment"):
        build("queues", Segment("name", value))


def test_an_empty_segment_is_refused():
    with pytest.raises(OptionError, match="^name: must not be empty"):
        build("queues", Segment("name", ""))


def test_a_built_path_survives_the_http_client_unchanged():
    # requests (urllib3's parse_url) removes dot segments; a built path has none, and %2F stays encoded.
    path = build("queues", Segment("name", "a/b"), "x", Segment("name", "c.d"))
    prepared = requests.Request("GET", "https://arm.example" + path).prepare()
    assert prepared.path_url == path


@pytest.mark.parametrize("scope, encoded", [
    ("/", "/"),
    (f"/subscriptions/{SUB}", f"/subscriptions/{SUB}"),
    (f"/subscriptions/{SUB}/resourceGroups/rg-(1)/", f"/subscriptions/{SUB}/resourceGroups/rg-%281%29"),
    (f"/subscriptions/{SUB}/resourceGroups/rä/providers/Microsoft.ServiceBus/namespaces/sb",
     f"/subscriptions/{SUB}/resourceGroups/r%C3%A4/providers/Microsoft.ServiceBus/namespaces/sb"),
])
def test_a_scope_is_checked_and_encoded_segment_by_segment(scope, encoded):
    assert resource_id("scope", scope) == encoded


@pytest.mark.parametrize("scope, rule", [
    ("subscriptions/x", "starting with '/'"),
    (f"/subscriptions/{SUB}/resourceGroups/../providers/x/y/z", "empty, '.' or '..'"),
    (f"/subscriptions/{SUB}//resourceGroups/rg", "empty, '.' or '..'"),
    (f"/subscriptions/{SUB}/resourceGroups/%2e%2e", "white space, a control character"),
    (f"/subscriptions/{SUB}/resourceGroups/rg\n", "white space, a control character"),
    (f"/subscriptions/{SUB}/resourceGroups/r g", "white space, a control character"),
    (f"/subscriptions/{SUB}/resourceGroups", "alternate type and name"),
    (f"/subscriptions/{SUB}/1bad/rg", "must be a type"),
])
def test_a_scope_that_is_not_one_resource_id_is_refused_naming_the_segment(scope, rule):
    with pytest.raises(OptionError, match=r"^scope: ") as err:
        resource_id("scope", scope)
    assert rule in str(err.value)


@pytest.mark.parametrize("check, value", [
    (lambda v: rules.resource_group("resource_group", v), "rg."),
    (lambda v: rules.resource_group("resource_group", v), "rg\n"),
    (lambda v: rules.resource_group("resource_group", v), "r" * 91),
    (lambda v: rules.resource_group("resource_group", v), "rg\u200b"),
    (lambda v: rules.cluster_name("name", v, "AKS cluster"), "-aks"),
    (lambda v: rules.cluster_name("name", v, "AKS cluster"), "aks\n"),
    (lambda v: rules.identity_name("name", v), "id-1\n"),
    (lambda v: rules.dns_label("namespace", v), "keda\n"),
    (lambda v: rules.dns_subdomain("name", v), "app\n"),
    (lambda v: rules.guid("subscription_id", v), SUB + "\n"),
])
def test_a_trailing_newline_or_a_character_the_service_refuses_fails_the_name_rule(check, value):
    with pytest.raises(OptionError):
        check(value)


@pytest.mark.parametrize("value", ["rg-keda", "MC_rg_aks_eastus", "rg.(1)", "Grüße", "r" * 90])
def test_a_resource_group_name_azure_accepts_passes(value):
    assert rules.resource_group("resource_group", value) == value


def test_a_queue_name_cannot_reach_its_namespace_through_dot_segments():
    with pytest.raises(OptionError, match=r"^name: 'a/\.\./\.\./sb-keda-demo'"):
        servicebus.queue_path(SUB, "rg", "sb-keda-demo", "a/../../sb-keda-demo")


def test_a_queue_name_with_a_slash_stays_one_segment():
    path = servicebus.queue_path(SUB, "rg", "sb-keda-demo", "orders/eu")
    assert path.endswith("/namespaces/sb-keda-demo/queues/orders%2Feu")


def test_a_kubernetes_object_path_refuses_dot_names_and_an_empty_namespace():
    with pytest.raises(OptionError, match="^name: "):
        k8s.SERVICE_ACCOUNT.path("keda", "..")
    with pytest.raises(OptionError, match="^namespace: "):
        k8s.SERVICE_ACCOUNT.path("", "keda-operator")
    assert k8s.SERVICE_ACCOUNT.path(None) == "/api/v1/serviceaccounts"
    assert k8s.SERVICE_ACCOUNT.path("keda", "keda-operator", "token") == \
        "/api/v1/namespaces/keda/serviceaccounts/keda-operator/token"


@pytest.mark.parametrize("auth, option", [
    ({"host": "https://api.example:6443/../x"}, "host"),
    ({"host": ".."}, "host"),
    ({"host": "https://api.example\n"}, "host"),
    ({"api_key": "token\nX-Injected: 1"}, "api_key"),
    ({"ca_cert": "/no/such/ca.pem"}, "ca_cert"),
    ({"client_key": "nul\x00"}, "client_key"),
])
def test_kubernetes_auth_options_that_shape_a_url_or_header_are_checked_before_any_request(auth, option):
    from ansible_collections.kedaops.aks.plugins.module_utils._k8s_connection import check_auth
    with pytest.raises(OptionError, match=f"^{option}: "):
        check_auth(auth)


@pytest.mark.parametrize("tenant, client_id, option", [
    ("..", None, "tenant"),
    ("contoso.onmicrosoft.com/../x", None, "tenant"),
    (SUB + "\n", None, "tenant"),
    (None, "not-a-guid", "client_id"),
])
def test_the_tenant_and_client_id_in_entra_urls_are_checked_before_any_request(tenant, client_id, option):
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth, check_identifiers
    with pytest.raises(OptionError, match=f"^{option}: "):
        check_identifiers(AzureAuth(tenant=tenant, client_id=client_id))


@pytest.mark.parametrize("tenant", [SUB, "contoso.onmicrosoft.com", "login.contoso.com"])
def test_a_tenant_id_or_domain_passes(tenant):
    from ansible_collections.kedaops.aks.plugins.module_utils._azure_auth import AzureAuth, check_identifiers
    check_identifiers(AzureAuth(tenant=tenant, client_id=SUB))
