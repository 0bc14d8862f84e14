"""`users list`: every provisioned user profile, with persona, status, version and whether a
newer version of the product exists."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import click

from factory.cli.users import common

#: Persona reads (GetProvisionedProductOutputs) in flight at once: one per person, because
#: SearchProvisionedProducts returns no parameters or outputs (botocore model,
#: ProvisionedProductAttribute).
READERS = 8


@click.command("list")
@click.option("--no-persona", is_flag=True, help="Skip the per-person persona read (faster).")
@common.domain_option
@common.where_options
def command(where: common.Where, no_persona: bool, domain: str) -> None:
    """List every provisioned user profile (`studio-user-*`), or one domain's."""
    aws = common.clients(where)
    rows = describe(aws, where, with_persona=not no_persona, domain=domain)
    if where.output == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    click.echo("PERSON\tPERSONA\tSTATUS\tVERSION\tNEWER VERSION")
    for row in rows:
        newer = "yes" if row["newer_version_available"] else "no"
        persona = row["persona"] or "-"
        click.echo(f"{row['person']}\t{persona}\t{row['status']}\t{row['version']}\t{newer}")
    click.echo(f"{len(rows)} user profile(s)", err=True)


def describe(
    aws: common.Clients, where: common.Where, *, with_persona: bool, domain: str = ""
) -> list[dict[str, Any]]:
    """One row per profile; with `domain`, only those launched into it (their launch-time
    `studio-factory:domain` tag; untagged ones are in the product's default domain)."""
    from factory.naming import DEFAULT_DOMAIN_NAME
    from factory.users import provision
    from factory.users.bulk import DOMAIN_TAG

    items = sorted(provision.listing(aws.sc), key=lambda item: str(item["Name"]))
    if domain:
        tags = [{t["Key"]: t["Value"] for t in item.get("Tags", [])} for item in items]
        items = [
            item
            for item, tagged in zip(items, tags, strict=True)
            if tagged.get(DOMAIN_TAG, DEFAULT_DOMAIN_NAME) == domain
        ]
    newest = common.target(aws.sc, where).artifact_id if items else ""
    personas = [""] * len(items)
    if with_persona and items:
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            names = [str(item["Name"]) for item in items]
            personas = list(pool.map(lambda name: provision.persona_of(aws.sc, name), names))
    return [
        {
            "person": provision.person_of(str(item["Name"])),
            "name": item["Name"],
            "id": item.get("Id", ""),
            "persona": persona,
            "status": item.get("Status", ""),
            "status_message": item.get("StatusMessage", ""),
            "version": item.get("ProvisioningArtifactName", ""),
            "version_id": item.get("ProvisioningArtifactId", ""),
            "newer_version_available": item.get("ProvisioningArtifactId") != newest,
            "tags": {t["Key"]: t["Value"] for t in item.get("Tags", [])},
        }
        for item, persona in zip(items, personas, strict=True)
    ]
