"""The provisioning contract (app/providers/provisioning/protocol.py): every
ProvisioningTarget passes it. Runs once per entry of `implementations.PROVISIONING`."""

from __future__ import annotations

import pytest

from app.providers.errors import ProviderError, ProviderRejected, ProviderUnavailable
from app.providers.provisioning import ProvisioningResult, ProvisioningTarget
from tests.providers.contract.implementations import Fault, Subject, outage
from tests.providers.factories import NAMESPACE, entitlement, instance_entitlement

Target = Subject[ProvisioningTarget]


async def test_the_same_entitlement_twice_is_one_push(target: ProvisioningTarget) -> None:
    first = await target.push(entitlement(), idempotency_key="prov-1")
    again = await target.push(entitlement(), idempotency_key="prov-2")

    assert first == ProvisioningResult(deployment_ref=NAMESPACE, applied=True, pushes=1)
    assert again == ProvisioningResult(deployment_ref=NAMESPACE, applied=False, pushes=1)
    assert await target.get([NAMESPACE]) == {NAMESPACE: entitlement()}


async def test_a_push_replayed_with_its_key_changes_nothing(
    provisioning_subject: Target,
) -> None:
    target = provisioning_subject.provider
    first = await target.push(entitlement(), idempotency_key="prov-1")

    again = await target.push(entitlement(), idempotency_key="prov-1")

    assert again.pushes == first.pushes == 1
    assert await provisioning_subject.count("deployment") == 1


async def test_a_change_is_applied_and_counted(target: ProvisioningTarget) -> None:
    await target.push(entitlement(), idempotency_key="prov-1")
    changed = entitlement(seats=15, add_ons=(("duo_pro", 5), ("duo_enterprise", 2)))

    result = await target.push(changed, idempotency_key="prov-2")

    assert result == ProvisioningResult(deployment_ref=NAMESPACE, applied=True, pushes=2)
    assert await target.get([NAMESPACE]) == {NAMESPACE: changed}


async def test_get_omits_unknown_deployments(provisioning_subject: Target) -> None:
    target = provisioning_subject.provider
    instance = instance_entitlement()
    await target.push(entitlement(), idempotency_key="prov-1")
    await target.push(instance, idempotency_key="prov-2")

    found = await target.get([NAMESPACE, instance.deployment_ref, "100999"])

    assert dict(found) == {NAMESPACE: entitlement(), instance.deployment_ref: instance}
    assert await target.get([]) == {}
    assert await provisioning_subject.count("deployment") == 2


async def test_a_free_plan_entitlement_is_pushed(target: ProvisioningTarget) -> None:
    await target.push(entitlement(), idempotency_key="prov-1")
    free = entitlement(plan_code="free", seats=0, add_ons=(), storage_gib=0)

    result = await target.push(free, idempotency_key="prov-2")

    assert result.applied is True
    assert await target.get([NAMESPACE]) == {NAMESPACE: free}


@pytest.mark.parametrize(
    "bad",
    [
        {"seats": -1},
        {"add_ons": (("duo_pro", -1),)},
        {"term_end": entitlement().term_start},
        {"deployment_ref": ""},
        {"plan_code": " "},
    ],
)
async def test_a_malformed_entitlement_is_rejected(
    provisioning_subject: Target, bad: dict[str, object]
) -> None:
    target = provisioning_subject.provider

    with pytest.raises(ProviderRejected) as caught:
        await target.push(entitlement(**bad), idempotency_key="prov-1")

    assert caught.value.code == "invalid_request"
    assert await target.get([NAMESPACE]) == {}
    assert await provisioning_subject.count("deployment") == 0


async def test_an_empty_idempotency_key_is_rejected(provisioning_subject: Target) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await provisioning_subject.provider.push(entitlement(), idempotency_key="")

    assert caught.value.code == "invalid_request"
    assert await provisioning_subject.count("deployment") == 0


# -- transport failures (implementations with fault controls) --------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.REJECT, ProviderRejected),
        (Fault.SERVER_ERROR, ProviderUnavailable),
        (Fault.TIMEOUT, ProviderUnavailable),
        (Fault.DROP, ProviderUnavailable),
    ],
)
async def test_a_failed_read_is_a_typed_error(
    provisioning_subject: Target, fault: Fault, error: type[ProviderError]
) -> None:
    faults, target = provisioning_subject.faults(), provisioning_subject.provider
    await target.push(entitlement(), idempotency_key="prov-1")

    with outage(faults, fault), pytest.raises(error) as caught:
        await target.get([NAMESPACE])

    assert caught.value.retryable is (error is ProviderUnavailable)
    assert await target.get([NAMESPACE]) == {NAMESPACE: entitlement()}


async def test_a_rejected_push_records_nothing(provisioning_subject: Target) -> None:
    faults = provisioning_subject.faults()

    with outage(faults, Fault.REJECT), pytest.raises(ProviderRejected) as caught:
        await provisioning_subject.provider.push(entitlement(), idempotency_key="prov-1")

    assert caught.value.retryable is False
    assert await provisioning_subject.count("deployment") == 0


@pytest.mark.parametrize("fault", [Fault.PARTIAL, Fault.SERVER_ERROR, Fault.TIMEOUT, Fault.DROP])
async def test_a_push_retried_after_a_failure_lands_once(
    provisioning_subject: Target, fault: Fault
) -> None:
    faults, target = provisioning_subject.faults(), provisioning_subject.provider

    with outage(faults, fault), pytest.raises(ProviderUnavailable) as caught:
        await target.push(entitlement(), idempotency_key="prov-1")
    result = await target.push(entitlement(), idempotency_key="prov-1")

    assert caught.value.retryable is True
    assert result.pushes == 1
    assert await target.get([NAMESPACE]) == {NAMESPACE: entitlement()}
    assert await provisioning_subject.count("deployment") == 1
