"""servicebook sla — SLA clocks of every case as of an instant (时限监控).

Usage::

    servicebook sla [--at INSTANT] [--format text|json] [--kind K ...] [--breached | --at-risk]
                    [--cycles last|all|ever] [--lang zh|en] [--root PATH]

Without ``--at`` the clocks are computed as of now; with it, from the record histories as they
stood at that instant (later history entries, records and callbacks are ignored), so a past report
is reproduced exactly. ``--breached`` keeps breached clocks (most overdue first), ``--at-risk`` the
at-risk queue (earliest deadline first). ``--cycles``: ``last`` (default) shows the newest cycle
of each clock, ``all`` every cycle of reopened cases, ``ever`` the newest cycle unless an earlier
one was breached. Customers and owners are named by ``servicebook.derive.names.short_name`` in
``--lang`` (the site's rule), beside their IDs in the text output.

Exit status: 0 done, 1 some clocks could not be computed (state ``error``, e.g. a clock still
open past the end of the holiday data before its deadline was reached), 2 usage error.

JSON output (``--format json``), stable fields::

    {
      "as_of": "2026-11-23T10:00:00+08:00",     # the instant the clocks are computed for
      "lang": "zh",                              # the language of the names
      "policies": [{"id": "SLA-complaint", "version": 1, "kind": "complaint", "name": "..."}],
      "counts": {"running": 3, "at_risk": 1, "paused": 0, "met": 9, "breached": 2,
                 "cancelled": 0, "error": 0},       # of the rows below
      "clocks": [ROW, ...]
    }

Each ROW:

    case               record ID the clock runs on (CP-20261120-7KQ2XM)
    kind               its record kind
    customer           customer ID
    customer_name      its name in the language asked for ("" when unknown)
    customer_class     the customer's class by value index (source 003: "A", "B", ...), null without one
    customer_value     the customer's value index (0..100), null without one
    tier               "standard" | "vip" (contract through the case chain, else customer)
    owner              person ID answering for the clock (per the policy's owner fields)
    owner_name         that person's name in the language asked for ("" when unknown)
    department         that person's department, or null
    policy             policy ID that measured the clock
    policy_version     that policy's `version`
    clock              clock name within the policy ("fix"; schedules: "inspection_3m")
    title, title_zh    what the deadline is
    occurrence         for schedule clocks the due month, else null
    cycle              1, 2, ... (a reopened case starts a new cycle)
    last_cycle         true for the newest cycle of this clock
    state              running | at_risk | paused | met | breached | cancelled | error
    open               true while the clock still runs or waits (running, at_risk, paused,
                       or breached and not yet stopped)
    started_at         instant the clock started (ISO 8601 with offset)
    stopped_at         instant it stopped or was cancelled, null while open
    deadline           instant the target is/was reached (projected from now while running;
                       null while paused)
    target             the target as written in the policy ("1 working_days", "24 hours")
    target_seconds     the target in seconds of the clock's calendar
    elapsed_seconds    time counted so far (working seconds for working targets; pauses excluded)
    remaining_seconds  target_seconds - elapsed_seconds (negative when overdue)
    overdue_seconds    how late a breached clock is (0 otherwise)
    used               elapsed / target (1.0 = deadline reached)
    calendar           calendar ID the time was counted in
    month              YYYY-MM the clock counts in for reports (of its deadline)
    error              why the clock could not be computed (state "error"), else null
    at_least           true when the clock runs past its calendar's holiday data (a year neither
                       the chinese-calendar package nor the calendar record covers): time is
                       counted up to where the data ends, so elapsed_seconds and overdue_seconds
                       are lower bounds ("late at least ..."); when the target itself ends past
                       the data, target_seconds and remaining_seconds too, and deadline is null.
                       A deadline reached inside the data stays breached; only a clock whose
                       deadline cannot be placed and that runs on past the data is an error
    missing            the kind of the measured record when it does not exist yet, else null: a
                       clock that another record started ("within N of X") runs on that record
                       (case: the handed-over survey, kind: "appraisal") until the record is
                       filed, so a form never filed is late too

In the text output a lower bound is written with "≥" ("late ≥3d04h"), and a clock waiting for a
record not yet filed is named with that kind ("appraisal (no appraisal yet)").
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Iterator

from servicebook.derive import attention, names
from servicebook.derive.aftersales import value_index
from servicebook.derive.sla import reports
from servicebook.derive.sla.engine import STATES, Engine, InstantTexts
from servicebook.commands._common import add_root, at_or_now, find_root, print_json_listing
from servicebook.load.instants import ZONE

NAME = "sla"
HELP = "SLA clocks as of an instant: running, paused, met, breached, at risk (时限监控)."

def configure(parser):
    parser.add_argument("--at", metavar="INSTANT",
                        help="compute as of this instant, e.g. 2026-11-23T10:00:00+08:00 "
                             "(a date means its midnight in Beijing time; default: now)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--kind", action="append", metavar="K",
                        help="only clocks on records of this kind (repeatable)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--breached", action="store_true", help="only breached clocks, most overdue first")
    only.add_argument("--at-risk", action="store_true",
                      help="only the at-risk queue in the order to work it: customer class, deadline, value")
    parser.add_argument("--cycles", choices=("last", "all", "ever"), default="last",
                        help="which cycles of reopened cases to show (default: last)")
    parser.add_argument("--lang", choices=names.LANGS, default="zh", help="language of the names shown")
    add_root(parser)


def _rows(clocks, args, priority):
    if args.breached:
        return reports.breach_list(clocks, cycles=args.cycles)
    if args.at_risk:
        return reports.at_risk_queue(clocks, priority)
    selected = reports.select(clocks, args.cycles)
    return sorted(selected, key=_BY_CASE)


_BY_CASE = operator.attrgetter("kind", "case", "clock", "cycle")  # a C call per clock, no lambda


def run(args) -> int:
    root = find_root(args.root).resolve()
    moment = at_or_now(args.at)
    at = moment.timestamp()
    from servicebook.load import corpus

    c = corpus.load(root)
    engine = Engine(c)
    for rec, msg in engine.problems:
        print(f"servicebook: {rec.path}: {msg}", file=sys.stderr)
    clocks = engine.clocks(at, args.kind)
    # the value index orders the at-risk queue and names each JSON row's class: not built otherwise
    values = value_index.ValueIndex(c, moment) if args.at_risk or args.format == "json" else None
    rows = _rows(clocks, args, values.priority if values else None)
    counts = {s: 0 for s in STATES}
    for r in rows:
        counts[r.state] += 1
    as_of = moment.astimezone(ZONE).isoformat(timespec="seconds")
    @_once_per_id  # a few thousand customers and owners over 100k clock rows
    def name(rid):
        return names.short_name(names.lookup(c.records, rid), args.lang)

    if args.format == "json":
        print_json_listing({
            "as_of": as_of,
            "lang": args.lang,
            "policies": [{"id": p.id, "version": p.version, "kind": p.kind, "name": p.name}
                         for p in engine.policies],
            "counts": counts,
        }, "clocks", _json_rows(rows, name, values))
    else:
        print(_text(rows, as_of, engine, counts, lambda rid: names.short_label(c.records, rid, args.lang)))
    return 1 if counts["error"] else 0


def _json_rows(rows, name, values) -> Iterator[dict]:
    """Each clock's JSON row with the names of its customer and owner beside their IDs, and the
    customer's class and value index (`attention.customer_class`, as the site's home page). What
    rows share is made once: the fields of each customer and owner, the text of each instant."""
    texts = InstantTexts()

    @_once_per_id
    def customer_fields(cid):
        cls, value = attention.customer_class(values, cid)
        return {"customer_name": name(cid), "customer_class": cls, "customer_value": value}

    owner_fields = _once_per_id(lambda oid: {"owner_name": name(oid)})
    for clock in rows:
        yield clock.to_dict(customer_fields(clock.customer), owner_fields(clock.owner), texts)


def _once_per_id(look_up):
    """``look_up`` remembered per ID; a value that is not text (a broken record's customer can be a
    list or a mapping, which the checks report) is looked up every time: it is no cache key."""
    remembered = _Remembered(look_up)
    return lambda rid: remembered[rid] if rid is None or isinstance(rid, str) else look_up(rid)


def _text(rows, as_of, engine, counts, who) -> str:
    label = _once_per_id(who)  # a few thousand customers and owners over 100k rows
    duration = _Remembered(reports.format_duration)  # ~10,000 distinct durations over 300,000
    head = ("CASE", "CLOCK", "CUSTOMER", "TIER", "OWNER", "STATE", "TARGET", "ELAPSED", "LEFT/LATE")
    table = [head]
    append = table.append
    for c in rows:
        state = c.state
        if state == "error":
            elapsed, left = "", c.error or ""
        else:
            at_least = "≥" if c.at_least else ""
            elapsed = at_least + duration[c.elapsed_seconds]
            if state == "breached":
                left = "late " + at_least + duration[c.overdue_seconds]
            elif state == "met" or state == "cancelled":
                left = ""
            else:
                left = duration[c.remaining_seconds]
        clock = c.clock if c.cycle == 1 else f"{c.clock}#{c.cycle}"
        if c.missing:
            clock += f" (no {c.missing} yet)"
        append(tuple(map(str, (c.case, clock, label(c.customer), c.tier, label(c.owner), state, c.target,
                               elapsed, left))))
    widths = [max(map(len, column)) for column in list(zip(*table))[:-1]]
    lines = [f"SLA clocks as of {as_of}; policies: "
             + (", ".join(f"{p.id} v{p.version}" for p in engine.policies) or "none")]
    # each column but the last left-justified to its width ("{:<w}" is str.ljust(w)), in one C call per row
    line = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    lines.extend(line.format(*r) for r in table)
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no clocks")
    return "\n".join(lines)


class _Remembered(dict):
    """``look_up(key)`` of each key, worked out on first use (a dict lookup after that)."""

    __slots__ = ("_look_up",)

    def __init__(self, look_up):
        super().__init__()
        self._look_up = look_up

    def __missing__(self, key):
        value = self[key] = self._look_up(key)
        return value
