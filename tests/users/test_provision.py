"""What `factory.users.provision` derives from the user-profile product itself."""

from __future__ import annotations

from factory.portfolio.personas import PERSON_PARAMETERS, user_profile_parameters
from factory.products.user_profile import DOMAIN_LINKS
from factory.users.provision import KEPT_ON_UPDATE


def test_an_update_keeps_every_parameter_no_persona_sets() -> None:
    """An update resets an omitted parameter to the new version's default (API reference,
    UsePreviousValue): each identity, domain and bootstrap link must be kept explicitly."""
    specs = user_profile_parameters()
    linked = {name for name, spec in specs.items() if str(spec["Type"]).startswith("AWS::SSM::")}
    identity = {"UserProfileName", "SsoUserName"}
    assert linked | identity | set(DOMAIN_LINKS) <= set(KEPT_ON_UPDATE)
    assert set(KEPT_ON_UPDATE) <= set(specs)  # UsePreviousValue on an unknown one fails
    assert not set(KEPT_ON_UPDATE) & (set(PERSON_PARAMETERS) - identity)  # Persona changes
