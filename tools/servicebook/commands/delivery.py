"""servicebook delivery CONTRACT-ID — the delivery of one contract (售中交付): 1+N team,
requirements due the requirements policy's time after signing (SLA-requirements: 72 h), changes, milestones, risks, reports, open problems.

Usage::

    servicebook delivery CT-20260915-KPA122 [--at INSTANT] [--format text|json] [--lang zh|en]
                         [--root PATH]

JSON output is ``servicebook.derive.delivery.report()`` plus ``lang``, ``customer_name`` and ``names``
(every customer and person ID of the report -> ``servicebook.derive.names.short_name`` in ``--lang``; the
text output shows the same names beside the IDs): contract, customer, status, tier, signed_at,
as_of, last_activity (the newest status change of the contract and its delivery records), team {owner, members, shape}, requirements {due, state (met | late | open | not_signed | no_policy: no requirements policy covers the tier),
late_seconds, confirmed_at, records}, changes, milestones [{name, planned_on, actual_on, state
(done | done_late | overdue | planned), delay_days, review_notes}], milestones_overdue (how many), milestones_from, reporting {daily, weekly: {expected, received, missing}, unknown_days} (the daily notes and weekly reports due since signing, seed 002), steps [{step (kickoff | design_outline | design_demo | design_final), on, record}], reports,
risks, problems [{id, status, open, level, title, owner, owner_fits, raised_at, answered_at,
response_target, response (the SLA clock row, see ``servicebook sla``)}], open_problems_by_level,
response_targets, levels.

Exit status: 0 done, 1 the requirements are late or a problem's response clock is breached,
2 usage error (unknown contract).
"""

from __future__ import annotations


from servicebook.load import corpus
from servicebook.derive import delivery
from servicebook.derive import names
from servicebook.commands._common import add_root, at_or_now, fail, find_root, json_text, missing_record

NAME = "delivery"
HELP = "Delivery of a contract: team, requirements (by policy), changes, milestones, risks, problems (售中交付)."


def configure(parser):
    parser.add_argument("contract", help="contract ID, e.g. CT-20260915-KPA122")
    parser.add_argument("--at", default=None, help="instant to report for (default: now)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--lang", choices=names.LANGS, default="zh", help="language of the names shown")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    at = at_or_now(args.at)
    c = corpus.load(root.resolve())
    rep = delivery.report(c, args.contract, at)
    if rep is None and args.contract not in c.records:
        return missing_record(root, args.contract)
    if rep is None:
        return fail(f"no contract {args.contract} (as of {at.isoformat(timespec='seconds')})")
    if args.format == "json":
        named = {rid: names.short_name(c.records.get(rid), args.lang) for rid in _named(rep)}
        print(json_text({**rep, "lang": args.lang, "customer_name": named.get(rep["customer"], "") if isinstance(rep["customer"], str) else "",
                          "names": named}))
    else:
        print(_text(rep, lambda rid: names.short_label(c.records, rid, args.lang)))
    bad = rep["requirements"]["state"] == "late" or any(
        p["response"] and p["response"]["state"] == "breached" for p in rep["problems"])
    return 1 if bad else 0


def _named(rep) -> list[str]:
    """Every customer and person ID the report names, in order of appearance."""
    found = [rep["customer"], rep["team"]["owner"], *(m["person"] for m in rep["team"]["members"]),
             *(r["filled_by"] for r in rep["reports"]),
             *(k["owner"] for k in rep["risks"]), *(p["owner"] for p in rep["problems"])]
    return list(dict.fromkeys(x for x in found if isinstance(x, str) and x))


def _text(rep, who) -> str:
    out = [f"{rep['contract']}  {who(rep['customer'])}  {rep['status']}  tier {rep['tier']}  signed {rep['signed_at'] or '-'}",
           f"as of {rep['as_of']}", ""]
    t = rep["team"]
    out.append(f"Team {t['shape']}: owner {who(t['owner']) or '-'}; "
               + ", ".join(f"{who(m['person'])} ({m['role']})" for m in t["members"]))
    r = rep["requirements"]
    out.append(f"Requirements: due {r['due'] or '-'}: {r['state'].upper()}"
               + (f", confirmed {r['confirmed_at']}" if r["confirmed_at"] else ""))
    for ch in rep["changes"]:
        out.append(f"Change {ch['id']} {ch['change_type']} {ch['status']}: {ch['description']}")
    if rep["milestones"]:
        out.append(f"Milestones (from {rep['milestones_from']}):")
        for m in rep["milestones"]:
            out.append(f"  {m['name']}: planned {m['planned_on']}, actual {m['actual_on'] or '-'}, {m['state']}"
                       + (f" ({m['delay_days']} d)" if m["delay_days"] else ""))
    for k in rep["risks"]:
        out.append(f"Risk {k['id']} [{k['status']}] {k['risk']} -> {k['action']} (owner {who(k['owner']) or '-'}, due "
                   f"{k['action_due'] or '-'}{', OVERDUE' if k['action_overdue'] else ''})")
    for p in rep["problems"]:
        clock = p["response"]
        out.append(f"Problem {p['id']} [{p['level']}] {p['status']}: {p['title']} (owner {who(p['owner']) or '-'}"
                   f"{'' if p['owner_fits'] else ', OWNER DOES NOT FIT THE LEVEL'}; answer within "
                   f"{p['response_target'] or '-'}: {clock['state'] if clock else 'no clock'})")
    out.append("Steps: " + ", ".join(f"{st['step']} {st['on'] or 'NOT ON RECORD'}" for st in rep["steps"]))
    arrived = rep["reporting"]
    out.append(f"Reports received: daily {arrived['daily']['received']}/{arrived['daily']['expected']} working days, "
               f"weekly {arrived['weekly']['received']}/{arrived['weekly']['expected']} weeks"
               + (f"; no weekly report for the weeks of {', '.join(arrived['weekly']['missing'][-8:])}"
                  if arrived["weekly"]["missing"] else ""))
    for rp in rep["reports"][:3]:
        out.append(f"Report {rp['id']} {rp['type']} {rp['date']}: {rp['progress']}")
    return "\n".join(out)
