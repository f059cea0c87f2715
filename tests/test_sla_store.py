"""The kept SLA clocks (``derive/sla/store.py``) give exactly the clocks computed afresh.

A synthetic repository (real YAML files) is edited at random, round after round: instants moved,
statuses changed, references pointed elsewhere, records deleted and copied under new IDs (new
referrers), a policy's target and a calendar's hours changed. After each round the clocks taken
through the store (filled by the rounds before) must equal the clocks computed without it, at
instants before, within and after the data, in one process and in two.
"""

from __future__ import annotations

import gc
import marshal
import os
import random
import re
import shutil
import subprocess
import sys
import weakref
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from servicebook.derive.sla.engine import Engine
from servicebook.load import corpus
from servicebook.load.cache import seal
from servicebook.load.instants import parse_instant
from servicebook.write import synth

ROOT = Path(__file__).resolve().parent.parent
INSTANTS = [parse_instant(t).timestamp() for t in (
    "2025-09-01T10:00:00+08:00", "2026-06-15T15:30:00+08:00", "2026-11-30T10:00:00+08:00",
    "2027-03-01T09:00:00+08:00")]
CLOCKED = ("complaint", "repair", "callback", "survey", "appraisal", "solution", "installation",
           "inspection", "contract", "part-request", "requirements", "feasibility")
INSTANT = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00)"')
STATUS = re.compile(r"^(\s*-?\s*status: )(\w+)$", re.M)
REFERENCE = re.compile(r"^((?:customer|contract|complaint|case|assigned_to|survey): )(\S+)$", re.M)


def clocks(root: Path, at: float, keep: bool, workers=None) -> tuple[list[tuple], Engine]:
    engine = Engine(corpus.load(root, use_cache=False), keep=keep)
    return [c.values() for c in engine.clocks(at, workers=workers)], engine


def store_files(root: Path) -> list[Path]:
    return sorted((root / ".cache" / "servicebook").glob("sla-clocks-*.marshal"))


def assert_same(root: Path, instants=INSTANTS, workers=None) -> int:
    """The kept and the fresh clocks agree at every instant; the store hits it made."""
    hits = 0
    for at in instants:
        kept, engine = clocks(root, at, True, workers)
        fresh, _ = clocks(root, at, False)
        assert kept == fresh, f"as of {datetime.fromtimestamp(at)}"
        hits += engine.store.hits
    return hits


def record_files(root: Path, kinds=CLOCKED) -> list[Path]:
    return sorted(p for kind in kinds for p in (root / "records" / kind).rglob("*.yaml"))


def edit(path: Path, rnd: random.Random) -> None:
    text = path.read_text(encoding="utf-8")
    how = rnd.choice(("instant", "status", "reference", "tier"))
    if how == "tier" and "service_tier: " in text:  # a customer's or contract's tier: the case's
        text = re.sub(r"service_tier: (\w+)",
                      lambda m: "service_tier: " + ("standard" if m.group(1) == "vip" else "vip"), text)
    elif how == "instant" and INSTANT.search(text):
        found = list(INSTANT.finditer(text))
        m = rnd.choice(found)
        moved = datetime.fromisoformat(m.group(1)) + timedelta(minutes=rnd.randint(-4000, 4000))
        text = text[:m.start(1)] + moved.isoformat() + text[m.end(1):]
    elif how == "status" and STATUS.search(text):
        found = list(STATUS.finditer(text))
        m = rnd.choice(found)
        other = rnd.choice(found).group(2)
        text = text[:m.start(2)] + other + text[m.end(2):]
    elif REFERENCE.search(text):  # another record of the same kind (same ID prefix)
        m = rnd.choice(list(REFERENCE.finditer(text)))
        prefix = m.group(2).split("-")[0] + "-"
        root = next(p for p in path.parents if p.name == "records")
        same_kind = sorted(p.stem for p in root.rglob(f"{prefix}*.yaml"))
        if same_kind:
            text = text[:m.start(2)] + rnd.choice(same_kind) + text[m.end(2):]
    path.write_text(text, encoding="utf-8")


def copy_as_new(path: Path, n: int, rnd: random.Random) -> None:
    """The record again under a new ID, its instants moved: for a referrer (callback, repair,
    appraisal) a second record referring to the same case, with events earlier or later."""
    new_id = f"{path.stem[:-6]}Z{n:05d}"
    shift = timedelta(minutes=rnd.randint(-3000, 3000))
    text = path.read_text(encoding="utf-8").replace(f"id: {path.stem}", f"id: {new_id}", 1)
    text = INSTANT.sub(lambda m: f'"{(datetime.fromisoformat(m.group(1)) + shift).isoformat()}"', text)
    (path.parent / f"{new_id}.yaml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("store") / "repo"
    synth.generate(out, 700, seed=5, source=ROOT)
    return out


def test_kept_clocks_equal_fresh_ones_after_random_edits(repo):
    rnd = random.Random(19)
    assert assert_same(repo, INSTANTS[2:3]) == 0  # nothing kept yet
    assert store_files(repo), "the store was written"
    assert assert_same(repo) > 0  # unchanged: the closed clocks come from the store
    for round_ in range(6):
        files = record_files(repo)
        for path in rnd.sample(files, 12):
            edit(path, rnd)
        for i, path in enumerate(rnd.sample(files, 6)):
            copy_as_new(path, round_ * 10 + i, rnd)
        for path in rnd.sample(files, 2):
            path.unlink(missing_ok=True)
        for path in rnd.sample(record_files(repo, ("customer", "contract", "product")), 6):
            edit(path, rnd)
        if round_ == 4:  # people are in the store's key: everything is computed again
            edit(rnd.choice(record_files(repo, ("person",))), rnd)
        assert_same(repo, rnd.sample(INSTANTS, 2))
    assert_same(repo, INSTANTS[2:3], workers=2)  # forked workers compute the misses ...
    assert assert_same(repo, INSTANTS[2:3], workers=2) > 0  # ... and what they kept is used


def test_open_clocks_are_measured_again_for_later_instants(repo):
    """Open clocks kept as of one instant are measured again, not read again, for later ones: time
    counted up to each, deadlines passed meanwhile, the calendar's data run out (2027 on: then
    the record is computed afresh). Each equals the clock computed without the store."""
    assert_same(repo, INSTANTS[2:3])
    for later in ("2026-11-30T10:00:01+08:00", "2026-12-03T16:45:00+08:00", "2026-12-31T23:00:00+08:00",
                  "2027-06-01T09:00:00+08:00"):
        at = parse_instant(later).timestamp()
        kept, engine = clocks(repo, at, True)
        fresh, _ = clocks(repo, at, False)
        assert kept == fresh, later
        if not later.startswith("2027"):
            assert engine.store.remeasured > 0, later


ENTRY = re.compile(r'^- at: "([^"]+)"\n  by: (\S+)\n  status: (\w+)\n(?:  note: .*\n)?', re.M)


def redo_history(path: Path, rnd: random.Random) -> None:
    """Cut the history back (clocks open again) or add an entry after its last one, in one of
    the statuses it went through (a pause, a stop, a new cycle), minutes to weeks later."""
    text = path.read_text(encoding="utf-8")
    entries = list(ENTRY.finditer(text))
    if len(entries) < 2:
        return
    last = entries[-1]
    if rnd.random() < 0.5:
        text = text[:entries[-rnd.randint(1, len(entries) - 1)].start()] + text[last.end():]
    else:
        at = datetime.fromisoformat(last.group(1)) + timedelta(minutes=rnd.choice((1, 45, 600, 1440, 9000)))
        status = rnd.choice(entries).group(3)
        text = text[:last.end()] + f'- at: "{at.isoformat()}"\n  by: {last.group(2)}\n  status: {status}\n' + text[last.end():]
    path.write_text(text, encoding="utf-8")


def test_open_clocks_at_boundaries_before_and_after_they_were_kept(tmp_path):
    """Open clocks kept as of one instant and measured again as of others, earlier ones and later
    ones, on the boundaries where a clock changes: its deadline, start and stop and a second
    either side, holiday and make-up day midnights, the end of the holiday data; between rounds
    histories are cut back (clocks open again) or go on (pauses, stops, new cycles). Each run
    through the store equals the computation from scratch."""
    repo = tmp_path / "repo"
    synth.generate(repo, 160, seed=11, source=ROOT)
    rnd = random.Random(23)
    days = [parse_instant(d).timestamp() for d in (
        "2026-10-01", "2026-10-08", "2026-10-11", "2026-12-31", "2027-01-01")]
    remeasured = 0
    for round_ in range(4):
        for path in rnd.sample(record_files(repo), 8):
            redo_history(path, rnd)
        fresh, _ = clocks(repo, INSTANTS[2], False)
        edges = sorted({t + d for c in fresh for t in (c[14], c[15], c[16]) if t is not None for d in (-1, 0, 1)})
        instants = sorted(rnd.sample(edges, 4) + rnd.sample(days, 1), reverse=round_ % 2 == 1)
        for at in instants:
            kept, engine = clocks(repo, at, True)
            fresh, _ = clocks(repo, at, False)
            assert kept == fresh, f"round {round_}, as of {datetime.fromtimestamp(at)}"
            remeasured += engine.store.remeasured
    assert remeasured > 0


def test_a_moved_policy_file_does_not_swap_two_policies_of_one_id(tmp_path):
    """Two policies of one ID (a copy whose ID was left unchanged: validate reports it, the clocks
    are still measured) come in the order of their files' paths. Moving the copy into a folder
    that sorts first changes no record's content, yet a kept open clock names its policy by that
    order: it must not be measured again with the other one's target."""
    repo = tmp_path / "repo"
    synth.generate(repo, 200, seed=7, source=ROOT)
    policies = repo / "records" / "policy"
    text = (policies / "SLA-complaint.yaml").read_text(encoding="utf-8")
    twin = (text.replace("  kind: complaint\n", "  kind: communication\n", 1)
            .replace("{amount: 1, unit: working_days}", "{amount: 5, unit: working_days}")
            .replace("{amount: 24, unit: hours}", "{amount: 120, unit: hours}"))
    assert "kind: communication" in twin and "amount: 5," in twin
    (policies / "SLA-twin.yaml").write_text(twin, encoding="utf-8")
    at = INSTANTS[2]
    assert_same(repo, [at])
    kept, engine = clocks(repo, at + 3600, True)
    assert engine.store.remeasured > 0  # open complaint clocks are kept
    (policies / "0").mkdir()
    (policies / "SLA-twin.yaml").rename(policies / "0" / "SLA-twin.yaml")
    assert_same(repo, [at + 7200])


def test_a_history_reads_the_same_whoever_reads_it_first(tmp_path):
    """Calendars in one zone other than Beijing's and an appraisal whose first history entry is a
    bare date (validate reports it; the clocks are still measured): midnight in Tokyo, an hour
    before Beijing's. Whether the appraisal exists as of 00:30 Tokyo time decides whether its
    survey runs the clock of a missing appraisal. Kept, the appraisal is not read before the
    survey is: the survey must still see it when the computation from scratch does."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    for kind in ("policy", "calendar", "person", "customer"):
        shutil.copytree(ROOT / "records" / kind, repo / "records" / kind)
    for cal in (repo / "records" / "calendar").glob("*.yaml"):
        text = cal.read_text(encoding="utf-8")
        assert "timezone: Asia/Shanghai" in text
        cal.write_text(text.replace("timezone: Asia/Shanghai", "timezone: Asia/Tokyo"), encoding="utf-8")
    person = sorted((repo / "records" / "person").glob("*.yaml"))[0].stem
    customer = sorted((repo / "records" / "customer").glob("*.yaml"))[0].stem
    records = {
        "survey/SV-20260602-AAAAAA": f"""customer: {customer}
history:
- {{at: "2026-06-02T09:20:00+08:00", by: {person}, status: open}}
- {{at: "2026-06-02T10:40:00+08:00", by: {person}, status: handed_over}}
""",
        "appraisal/AP-20260602-AAAAAA": f"""customer: {customer}
survey: SV-20260602-AAAAAA
history:
- {{at: "2026-06-03", by: {person}, status: in_progress}}
""",  # a solution for the survey, proposed later: the survey's clocks are never kept
        "solution/SO-20260701-AAAAAA": f"""customer: {customer}
survey: SV-20260602-AAAAAA
appraisal: AP-20260602-BBBBBB
history:
- {{at: "2026-07-01T10:00:00+08:00", by: {person}, status: proposed}}
""",
    }
    for name, body in records.items():
        path = repo / "records" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"id: {path.stem}\nschema_version: 1\nfilled_by: {person}\n{body}", encoding="utf-8")
    at = parse_instant("2026-06-03T00:30:00+09:00").timestamp()
    assert assert_same(repo, [at]) == 0
    assert assert_same(repo, [at]) > 0  # the appraisal comes from the store, the survey is computed


def test_policy_and_calendar_changes_rebuild(repo):
    assert_same(repo, INSTANTS[2:3])
    before = store_files(repo)
    policy = repo / "records" / "policy" / "SLA-complaint.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace(
        "standard: {amount: 1, unit: working_days}", "standard: {amount: 2, unit: working_days}", 1),
        encoding="utf-8")
    assert assert_same(repo, INSTANTS[2:3]) == 0  # another key: nothing kept applies
    assert store_files(repo) != before and len(store_files(repo)) == 1  # the old file is gone
    calendar = repo / "records" / "calendar" / "CAL-cn-standard.yaml"
    calendar.write_text(calendar.read_text(encoding="utf-8").replace(
        'mon: [{from: "09:00", to: "12:00"}', 'mon: [{from: "08:30", to: "12:00"}', 1), encoding="utf-8")
    assert assert_same(repo, INSTANTS[1:3]) == 0
    assert assert_same(repo, INSTANTS[2:3]) > 0


def checked(payload: bytes) -> bytes:
    return seal(payload) + payload


@pytest.mark.parametrize("damage", ["garbage", "flipped", "list", "shapes"])
def test_damaged_store_is_rebuilt_not_trusted(repo, damage):
    at = INSTANTS[2]
    assert_same(repo, [at])
    (path,) = store_files(repo)
    good = path.read_bytes()
    entries = marshal.loads(good[len(seal(b"")):])["entries"]
    path.write_bytes({
        "garbage": b"not a store file",
        "flipped": good[:-1] + bytes([good[-1] ^ 1]),  # fails its checksum
        "list": checked(marshal.dumps([1, 2, 3])),  # not a dict
        "shapes": checked(marshal.dumps({"content": marshal.loads(good[len(seal(b"")):])["content"],
                                         "entries": {rid: ("x",) if i % 2 else (0.0, (rid,), (), b"", [("y",)])
                                                     for i, rid in enumerate(entries)}})),
    }[damage])
    assert assert_same(repo, [at]) == 0
    assert assert_same(repo, [at]) > 0  # replaced by a good one


def test_unchanged_content_skips_the_digests_and_any_change_brings_them_back(repo):
    """While the repository's content is the one every entry was checked against, entries are
    taken without digests; after an edit each is checked again, and a run that checked only some
    (``--kind``) leaves the next run checking too."""
    at = INSTANTS[2]

    def run(kinds=None):
        engine = Engine(corpus.load(repo, use_cache=False))
        kept = [c.values() for c in engine.clocks(at, kinds)]
        fresh = [c.values() for c in Engine(corpus.load(repo, use_cache=False), keep=False).clocks(at, kinds)]
        assert kept == fresh
        return engine.store

    run()
    assert run()._trusted and run().hits > 0
    path = record_files(repo, ("complaint",))[3]
    path.write_text(path.read_text(encoding="utf-8") + "# the same record, other bytes\n", encoding="utf-8")
    assert not run(["callback"])._trusted  # changed: checked, but only the callbacks
    assert not run()._trusted  # so this run checks every entry ...
    assert run()._trusted  # ... and the next takes them as they are


def test_a_dropped_engine_is_freed_at_once(repo):
    """The engine owns its store and the store asks the engine for referrers: no reference cycle,
    so a command that drops its engine frees it (and every history it read) there and then rather
    than leaving it to a collection of the cyclic collector (0.6 s at 100k records)."""
    _, engine = clocks(repo, INSTANTS[2], True)
    assert engine.store is not None
    gone = weakref.ref(engine)
    was = gc.isenabled()
    gc.disable()
    try:
        del engine
        assert gone() is None
    finally:
        if was:
            gc.enable()


def test_no_store_when_caching_is_off(repo, monkeypatch):
    monkeypatch.setenv("SERVICEBOOK_NO_CACHE", "1")
    _, engine = clocks(repo, INSTANTS[2], True)
    assert engine.store is None


def test_a_new_referrer_reaches_a_kept_case(repo):
    """A callback filed for a closed complaint whose clocks are kept: the complaint's callback
    clock now stops at the new callback's call, earlier than the kept one says."""
    at = INSTANTS[2]
    assert_same(repo, [at])
    before, _ = clocks(repo, at, False)
    callbacks = sorted((repo / "records" / "callback").rglob("CB-*.yaml"))[:8]
    for n, path in enumerate(callbacks):
        new_id = f"{path.stem[:-6]}Y{n:05d}"
        text = path.read_text(encoding="utf-8").replace(f"id: {path.stem}", f"id: {new_id}", 1)
        text = INSTANT.sub(lambda m: f'"{(datetime.fromisoformat(m.group(1)) - timedelta(minutes=30)).isoformat()}"', text)
        (path.parent / f"{new_id}.yaml").write_text(text, encoding="utf-8")
    assert assert_same(repo, [at]) > 0
    after, _ = clocks(repo, at, False)
    assert after != before  # the new callbacks changed some kept clock


HITS = """
import sys
from servicebook.derive.sla.engine import Engine
from servicebook.load import corpus
engine = Engine(corpus.load(sys.argv[1]))
engine.clocks(float(sys.argv[2]))
print(engine.store.hits)
"""


def test_kept_clocks_are_used_by_the_next_process(repo):
    """What one run keeps, the next run (another process, records read through load's cache)
    uses: the file reads back and the records' digests do not depend on the process."""
    def run() -> int:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
        out = subprocess.run([sys.executable, "-c", HITS, str(repo), str(INSTANTS[2])], env=env,
                             capture_output=True, text=True, check=True)
        return int(out.stdout)
    run()
    assert run() > 0
