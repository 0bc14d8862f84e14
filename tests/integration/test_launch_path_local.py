"""The launch-path scenario (tests/integration/launch_path.py) against local AWS, in the
default suite: publish a run's own portfolio, provision a domain and two people as the cloud
admin through Service Catalog, remove one, clean everything up (issue 11). What only a real
account shows (IAM denials, presigned URLs, apps) runs in test_launch_path.py."""

from __future__ import annotations

from pathlib import Path

from factory.testing.local_aws import LocalAWS
from tests.integration import launch_path
from tests.support.publish import REGION


def test_the_launch_path_runs_and_cleans_up_after_itself(
    local_aws: LocalAWS, tmp_path: Path
) -> None:
    account = launch_path.LocalAccount(local_aws, REGION)
    run = launch_path.Run(region=REGION, workspace=tmp_path)
    with launch_path.cleaned(run):
        launch_path.scenario(account, run)
        state = local_aws.standin.region_state(REGION)
        names = sorted(pp.name for pp in state.provisioned.values())
        assert names == sorted([f"studio-domain-{run.run_id}", f"studio-user-{run.people[1]}"]), (
            names
        )
    assert run.log[:2] == [
        f"published portfolio e2e-{run.run_id}",
        f"domain e2e-{run.run_id} provisioned",
    ]
    state = local_aws.standin.region_state(REGION)
    assert not state.provisioned  # cleaned: the domain and the second person
    assert not state.portfolios and not state.products  # the run's catalog pruned


def test_cleanup_reports_what_it_could_not_remove(tmp_path: Path) -> None:
    run = launch_path.Run(region=REGION, workspace=tmp_path)
    removed: list[str] = []
    run.on_cleanup("first", lambda: removed.append("first"))

    def stuck() -> None:
        raise RuntimeError("DeleteStack failed")

    run.on_cleanup("stack x", stuck)
    run.on_cleanup("third", lambda: removed.append("third"))
    try:
        with launch_path.cleaned(run):
            pass
    except AssertionError as exc:
        assert "stack x: RuntimeError: DeleteStack failed" in str(exc)
    else:
        raise AssertionError("a failed cleanup must fail the test")
    assert removed == ["third", "first"]  # newest first, and past the failure
