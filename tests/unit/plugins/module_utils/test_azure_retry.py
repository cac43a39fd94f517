# Copyright (c) kedaops.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared retry of transient Azure errors: its predicate and its re-plan hook (_azure_errors.retry_on_codes)."""

from __future__ import annotations

import pytest

from ansible_collections.kedaops.aks.plugins.module_utils._azure_errors import AzureError, retry_on_codes

BUSY = AzureError("busy", code="OperationNotAllowed", message="Another operation (Updating) is in progress", status=409)
REFUSED = AzureError("refused", code="OperationNotAllowed", message="Preview feature is not registered", status=409)


def in_progress(err: AzureError) -> bool:
    return "in progress" in (err.message or "")


def failing(*errors: AzureError, result: str = "written"):
    """A call that raises ``errors`` in turn, then returns ``result``; ``calls`` counts the attempts."""
    pending = list(errors)
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return result
    return call, calls


def test_the_predicate_decides_what_is_waited_out():
    call, calls = failing(BUSY, BUSY)
    assert retry_on_codes(call, frozenset(), 10, first_delay=0.01, transient=in_progress) == "written"
    assert len(calls) == 3
    call, calls = failing(REFUSED)
    with pytest.raises(AzureError, match="refused"):
        retry_on_codes(call, frozenset(), 10, first_delay=0.01, transient=in_progress)
    assert len(calls) == 1


def test_replan_runs_after_each_wait_and_ends_the_retry_when_nothing_is_left():
    call, calls = failing(BUSY, BUSY)
    plans: list[str] = []

    def replan() -> str | None:
        plans.append("read")
        return "done by the other operation" if len(plans) == 2 else None

    answer = retry_on_codes(call, frozenset(), 10, first_delay=0.01, transient=in_progress, replan=replan)
    assert answer == "done by the other operation"
    assert (len(calls), len(plans)) == (2, 2)  # no third attempt: the re-plan found nothing to do


def test_replan_is_not_called_without_a_failure():
    call, calls = failing()
    plans: list[str] = []
    assert retry_on_codes(call, frozenset(), 10, replan=lambda: plans.append("read")) == "written"
    assert (len(calls), plans) == (1, [])


def test_codes_still_name_transient_errors_and_the_timeout_ends_the_wait():
    never = AzureError("principal", code="PrincipalNotFound", status=400)
    call, calls = failing(*([never] * 1000))
    with pytest.raises(AzureError, match="principal"):
        retry_on_codes(call, {"PrincipalNotFound"}, 0.2, first_delay=0.01, max_delay=0.02)
    assert 2 <= len(calls) < 1000
