"""``studio-factory users``: people's Studio user profiles, provisioned through Service Catalog.

One module per command (add, import, list, update, remove, sync); what they share is in
:mod:`.common`. Every command uses only the cloud admin's Service Catalog end-user
operations (plus the identity store for `sync`): no SageMaker permission is needed.
"""

from __future__ import annotations

import click

from factory.cli.users import add, import_, list_, remove, sync, update


@click.group("users")
def command() -> None:
    """Provision people's Studio user profiles through Service Catalog (personas)."""


for _module in (add, import_, list_, update, remove, sync):
    command.add_command(_module.command)
