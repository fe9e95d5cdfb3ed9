"""The cause an operator reads is never empty: a failed night names its error even when the error has no message."""

from __future__ import annotations

from dagster._utils.error import SerializableErrorInfo

from integration.alerts import original_error


def test_the_cause_is_the_message_without_the_class_path() -> None:
    error = SerializableErrorInfo("foundation.errors.IntegrityError: the ledger fails verification\n", [], "IntegrityError")
    assert original_error(error) == "the ledger fails verification"


def test_an_error_without_a_message_is_named_by_its_class() -> None:
    assert original_error(SerializableErrorInfo("TimeoutError\n", [], "TimeoutError")) == "TimeoutError"


def test_dagster_wrappers_are_unwrapped_to_the_user_error() -> None:
    cause = SerializableErrorInfo("ValueError: bad row\n", [], "ValueError")
    wrapper = SerializableErrorInfo("dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred\n", [],
                                    "DagsterExecutionStepExecutionError", cause=cause)
    assert original_error(wrapper) == "bad row"
