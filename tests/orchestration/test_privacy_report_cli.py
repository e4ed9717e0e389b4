"""`cofre privacy report` on a published DuckDB file: the k-anonymity table, exit 1 below the policy."""

from __future__ import annotations

from pathlib import Path

import duckdb
from click.testing import CliRunner

from orchestration.cli.app import build_cli
from orchestration.settings import Settings
from tests.orchestration.test_privacy_gate import CUSTOMERS, ORDERS, SECRET_LOOKING, _create, policy_file


def test_report_shows_k_per_set_and_fails_below_the_policy(tmp_path: Path) -> None:
    published = Settings(home=tmp_path / "home").published_path
    published.parent.mkdir(parents=True)
    with duckdb.connect(str(published)) as con:
        _create(con.execute, con.executemany, "?")
    runner = CliRunner()
    app = build_cli()  # the command as `cofre` builds it: global options (--home) on every command

    ok = runner.invoke(
        app,
        [
            "--home",
            str(tmp_path / "home"),
            "privacy",
            "report",
            "--plain",
            "--policy",
            str(policy_file(tmp_path)),
        ],
    )
    assert ok.exit_code == 0, ok.output
    lines = ok.output.splitlines()
    assert "table\tquasi-identifiers\tk\trecords below k\tverdict\tgeneralised" in lines
    assert (
        "dim_customer\tstate_code, customer_zip3\t3 (≥ 3)\t0 of 9 (0.0%)\tok\t"
        "dim_customer.customer_zip3 (0 rows null)" in lines
    )

    strict = runner.invoke(
        app,
        [
            "--home",
            str(tmp_path / "home"),
            "privacy",
            "report",
            "--plain",
            "--policy",
            str(policy_file(tmp_path, k=5, name="k5.yml")),
        ],
    )
    assert strict.exit_code == 1
    assert "dim_customer (state_code, customer_zip3): k=3 < 5" in strict.output
    body = strict.output.split("\n", 2)[2]  # after the two header lines naming the files
    assert not any(value in body for value in SECRET_LOOKING)
    assert len(CUSTOMERS) == 10 and len(ORDERS) == 9
