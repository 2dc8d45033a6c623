import pytest

from core.errors import IllegalTransition
from core.states import JobStatus, can_transition, check_transition, is_terminal


@pytest.mark.parametrize("current,target", [
    ("queued", "running"), ("queued", "cancelled"), ("queued", "failed"),
    ("running", "succeeded"), ("running", "failed"), ("running", "cancelled"), ("running", "queued"),
    ("failed", "queued"), ("cancelled", "queued"),
])
def test_allowed_transitions(current: str, target: str) -> None:
    assert can_transition(current, target)
    assert check_transition(current, target) == JobStatus(target)


@pytest.mark.parametrize("current,target", [
    ("queued", "succeeded"), ("succeeded", "running"), ("failed", "running"), ("succeeded", "queued"),
    ("cancelled", "running"), ("succeeded", "cancelled"), ("running", "running"),
])
def test_illegal_transitions_are_refused(current: str, target: str) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition, match=f"a {current} job cannot become {target}"):
        check_transition(current, target)


def test_terminal_states() -> None:
    assert [s.value for s in JobStatus if is_terminal(s)] == ["succeeded", "failed", "cancelled"]
