from __future__ import annotations

from decimal import Decimal

import pytest

from workbench.examples.sponsorship import Sponsorship, SponsorshipError


def recorded(app: Sponsorship, after: int) -> list[str]:
    return [n.topic.rsplit(":", 1)[1] for n in app.recorder.select_notifications(after + 1, 100)]


def test_sponsor_signs_raises_and_settles() -> None:
    crm = Sponsorship()
    acme = crm.register_sponsor("Acme", "PHP18", "Wile E.")
    crm.sign_contract(acme, "Gold")
    crm.raise_invoice(acme, "INV-1", Decimal("10000.00"))
    crm.settle_invoice(acme, "INV-1")
    assert recorded(crm, 0) == [
        "Sponsor.Registered",
        "Sponsor.ContractSigned",
        "Sponsor.InvoiceRaised",
        "Sponsor.InvoiceSettled",
    ]
    sponsor = crm.get_sponsor(acme)
    assert sponsor.is_signed and sponsor.is_settled and sponsor.level == "Gold"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([("raise_invoice", "INV-1", Decimal("1"))], "no contract yet"),
        ([("sign_contract", "Platinum")], "'Platinum' is not a sponsorship level"),
        ([("sign_contract", "Gold"), ("sign_contract", "Silver")], "already signed a Gold"),
        ([("sign_contract", "Gold"), ("raise_invoice", "I", Decimal("0"))], "must be positive"),
        ([("sign_contract", "Gold"), ("settle_invoice", "I")], "has no invoice I"),
        (
            [
                ("sign_contract", "Bronze"),
                ("raise_invoice", "I", Decimal("5")),
                ("settle_invoice", "I"),
                ("settle_invoice", "I"),
            ],
            "already settled",
        ),
    ],
)
def test_sponsorship_rules_refuse_and_record_nothing(
    steps: list[tuple[object, ...]], message: str
) -> None:
    crm = Sponsorship()
    acme = crm.register_sponsor("Acme", "PHP18", "Wile E.")
    *ok, bad = steps
    for name, *args in ok:
        getattr(crm, str(name))(acme, *args)
    before = crm.recorder.max_notification_id()
    name, *args = bad
    with pytest.raises(SponsorshipError, match=message):
        getattr(crm, str(name))(acme, *args)
    assert crm.recorder.max_notification_id() == before


def test_registering_twice_is_refused() -> None:
    crm = Sponsorship()
    crm.register_sponsor("Acme", "PHP18", "Wile E.")
    with pytest.raises(SponsorshipError, match="already registered"):
        crm.register_sponsor("Acme", "PHP18", "Road Runner")
