"""The synthetic generator: valid, complete, consistent chains, deterministic for a seed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from servicebook.load import corpus
from servicebook.write import synth
from servicebook.cli import main
from servicebook.derive.schedules import with_new_product_months
from servicebook.load.lifecycle import Lifecycle

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "repo"
    counts = synth.generate(out, 300, seed=11, source=ROOT)
    return out, counts, corpus.load(out)


@pytest.fixture(scope="module")
def source_policy_problems():
    """Problems the source repository itself has in the folders synth copies verbatim
    (records/policy, records/calendar): synth cannot fix those, only must not add to them."""
    copied = tuple(f"records/{f}/" for f in synth.COPIED_RECORD_FOLDERS)
    return {(p.file, p.path, p.rule) for p in corpus.load(ROOT).problems if p.file.startswith(copied)}


def assert_valid(loaded, source_policy_problems):
    """Every generated record is valid; copied policy/calendar files have no problem that they
    do not already have in the source repository (normally none)."""
    assert [p for p in loaded.problems if (p.file, p.path, p.rule) not in source_policy_problems] == []


def _files(root: Path) -> dict[str, bytes]:
    base = root / "records"
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*.yaml"))}


def test_generated_repository_validates(generated, source_policy_problems):
    out, counts, loaded = generated
    assert_valid(loaded, source_policy_problems)
    assert sum(counts.values()) == 300
    assert (out / "schemas" / "lifecycle.yaml").is_file()


def test_every_kind_is_present_in_realistic_proportions(generated):
    _out, counts, loaded = generated
    kinds = Counter(r.kind for r in loaded.records.values())
    assert set(synth.GENERATED_KINDS) <= set(kinds)
    assert sum(kinds[k] for k in synth.GENERATED_KINDS) == 300
    assert counts == {k: kinds[k] for k in sorted(counts)}
    # service cases dominate; reference data is scaled down
    assert kinds["complaint"] > kinds["survey"] and kinds["repair"] > kinds["contract"]
    assert kinds["person"] + kinds["customer"] + kinds["product"] < 60


def test_chains_and_approvals_are_consistent(generated):
    _out, _counts, loaded = generated
    life = Lifecycle.load(loaded.root / "schemas")
    roles = {r.id: set(r.data["roles"]) for r in loaded.of_kind("person")}
    approvals = 0
    for rec in loaded.records.values():
        if rec.kind not in synth.LIFECYCLE_KINDS:
            continue
        history = rec.data["history"]
        assert history[0]["status"] in life.initial(rec.kind)
        for before, after in zip(history, history[1:]):
            assert after["status"] in life.allowed(rec.kind, before["status"])
        for entry in history:
            role = life.approval_role(rec.kind, entry["status"])
            if role:
                approvals += 1
                assert role in roles[entry["by"]] and entry["by"] != rec.data["filled_by"]
    assert approvals > 0
    # every case chain starts at a survey or a complaint and reaches at least two kinds
    chained = [loaded.chain(c.id) for c in loaded.of_kind("callback")]
    assert chained and all(ch[0].kind == "complaint" for ch in chained)


def test_statuses_cover_the_lifecycle_at_scale(tmp_path, source_policy_problems):
    synth.generate(tmp_path / "r", 4000, seed=5, source=ROOT)
    loaded = corpus.load(tmp_path / "r")
    assert_valid(loaded, source_policy_problems)
    seen = {(r.kind, h["status"]) for r in loaded.records.values() if "history" in r.data
            for h in r.data["history"]}
    life = Lifecycle.load(ROOT / "schemas")
    for kind in synth.LIFECYCLE_KINDS:
        assert {(kind, s) for s in life.statuses(kind)} <= seen, kind


def test_presales_delivery_and_aftersales_records_hang_together(generated):
    """Bids, communications, delivery records, inspections, parts and part requests point to the
    records they belong to, in the order the process needs (validate proves the references exist;
    this proves they are the right ones)."""
    _out, _counts, loaded = generated
    of = loaded.of_kind
    for bid in of("bid"):
        comms = [c for c in of("communication") if c.data.get("bid") == bid.id]
        assert comms and all(c.data["deal"] == bid.data["survey"] for c in comms)
        if "submitted_at" in bid.data:
            assert {c.data["kind"] for c in comms} >= {"quotation", "vendor_authorisation"}
            assert len(bid.data["checklist"]) == 7
    for kind in synth.DELIVERY:
        for rec in of(kind):
            contract = loaded.records[rec.data["contract"]]
            assert contract.data["customer"] == rec.data["customer"] and "signing_date" in contract.data
    for rec in of("inspection"):
        inst = loaded.records[rec.data["installation"]]
        assert inst.data["status"] == "handed_over" and rec.data["customer"] == inst.data["customer"]
        product = loaded.records[rec.data["product"]]
        assert rec.data["schedule_month"] in with_new_product_months(product.data, ())["inspection_months"]
        assert rec.data.get("done_on", "9999") >= inst.data["handed_over_on"]
    part_numbers = {p.id: p.data["part_number"] for p in of("part")}
    for rec in of("part-request"):
        repair = loaded.records[rec.data["repair"]]
        assert rec.data["customer"] == repair.data["customer"] and "arrived_at" in repair.data
        replaced = [p["part_number"] for p in repair.data.get("parts_replaced", [])]
        assert not replaced or replaced == [part_numbers[rec.data["part"]]]
    for entry in of("kb"):
        assert entry.data["fault_codes"] and loaded.records[entry.data["product"]].kind == "product"


def test_derived_reports_run_on_every_kind(generated):
    """The SLA engine and the after-sales reports run on a synthetic corpus and measure its new
    kinds: part requests, requirements confirmations, inspections scheduled on installations."""
    from servicebook.derive.aftersales import inspections, parts
    from servicebook.derive.sla.engine import Engine
    from servicebook.load.instants import parse_instant

    _out, _counts, loaded = generated
    at = parse_instant("2026-11-21T00:00:00+08:00")
    engine = Engine(loaded)
    assert engine.problems == []
    measured = {c.kind for c in engine.clocks(at)}
    assert {"part-request", "requirements", "installation", "complaint", "repair"} <= measured
    assert any(item.inspection for item in inspections.schedule(loaded, at))
    sources = {u.source for u in parts.uses(loaded, at)}
    assert any(s.startswith("PQ-") for s in sources)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    synth.generate(tmp_path / "a", 200, seed=3, source=ROOT)
    synth.generate(tmp_path / "b", 200, seed=3, source=ROOT)
    synth.generate(tmp_path / "c", 200, seed=4, source=ROOT)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")


def test_command(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["synth", "120", "--out", str(out), "--seed", "2", "--root", str(ROOT)]) == 0
    assert "wrote 120 records" in capsys.readouterr().out
    # never writes into a repository that already holds records
    assert main(["synth", "120", "--out", str(out), "--root", str(ROOT)]) == 2
    assert main(["synth", "5", "--out", str(tmp_path / "small"), "--root", str(ROOT)]) == 2
