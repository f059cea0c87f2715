"""servicebook pipeline — every deal's stage, days in stage and deadline, per sales manager (销售漏斗).

Usage::

    servicebook pipeline [--at INSTANT] [--format text|json] [--manager P-ID]
                         [--commission-rate 0.05] [--lang zh|en] [--root PATH]

Without ``--at`` the pipeline is computed as of now; with it, from the records as they stood then.
See ``servicebook.derive.pipeline`` for the stages, deadlines and referral shares. A negotiation is long
past the target of the ``negotiation`` clock of the solution's SLA policy
(``records/policy/SLA-solution.yaml``); change the policy to change it.

JSON output: ``{"as_of", "lang", "commission_rate", "long_negotiation", "deals": [DEAL...],
"managers": {manager: {"open"|"long_negotiations"|"late"|"lost"|"not_informed": [survey IDs]}}}``
where ``long_negotiation`` is ``{policy, version, clock, targets: {tier: target}}`` (null without
such a clock) and DEAL is ``Deal.to_dict()`` plus ``customer_name``, ``salesperson_name`` and
``manager_name`` (``servicebook.derive.names.short_name`` in ``--lang``): survey, customer, salesperson, manager, stage, stage_since,
days_in_stage (days_at_least: a lower bound past the calendar's holiday data), deadline, state (on_time | late | long | no_deadline | closed | error),
first_contact, lost_stage, lost_reason, lost_at, records (kind -> latest ID), solution_status,
negotiation {rounds, price_cuts, contract_changes, manager_not_informed, detail, days}, bids,
communications (kind -> count), referral {person, class, share, commission_rate, commission,
amount, currency, state (pending | expected | due | none), conflict}, contract_amount, value
({amount, currency, from: contract | solution}: what the deal is worth, the site's figure too), error.

Exit status: 0 done, 1 some deals could not be computed (state error), 2 usage error.
"""

from __future__ import annotations


from servicebook.load import corpus
from servicebook.derive import names
from servicebook.derive import pipeline
from servicebook.commands._common import add_root, at_or_now, find_root, json_text

NAME = "pipeline"
HELP = "Deal pipeline: stage, days in stage against deadlines, long negotiations, lost deals (销售漏斗)."


def configure(parser):
    parser.add_argument("--at", default=None, help="instant to compute for, e.g. 2026-11-24T10:00:00+08:00 "
                                                   "(default: now)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--manager", default=None, help="only this sales manager's deals")
    parser.add_argument("--commission-rate", type=float, default=pipeline.DEFAULT_COMMISSION_RATE,
                        help="salesperson's commission as a share of the contract amount (referral base)")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    at = at_or_now(args.at)
    c = corpus.load(root.resolve())
    deals = pipeline.deals(c, at, commission_rate=args.commission_rate)
    if args.manager:
        deals = [d for d in deals if d.manager == args.manager]
    view = pipeline.manager_view(deals)

    def name(rid):
        return names.short_name(names.lookup(c.records, rid), args.lang)

    if args.format == "json":
        print(json_text({
            "as_of": at.isoformat(timespec="seconds"),
            "lang": args.lang,
            "commission_rate": args.commission_rate,
            "long_negotiation": pipeline.negotiation_limit(c),
            "deals": [{**d.to_dict(), "customer_name": name(d.customer), "salesperson_name": name(d.salesperson),
                       "manager_name": name(d.manager)} for d in deals],
            "managers": {m: {k: [d.survey for d in v] for k, v in groups.items()} for m, groups in view.items()},
        }))
    else:
        print(_text(deals, view, at, args.lang, lambda rid: names.short_label(c.records, rid, args.lang)))
    return 1 if any(d.state == "error" for d in deals) else 0


def _label(stage, lang):
    en, zh = pipeline.STAGE_LABELS[stage]
    return zh if lang == "zh" else en


def _text(deals, view, at, lang, who) -> str:
    zh = lang == "zh"
    out = [("销售漏斗,截至 " if zh else "Deal pipeline as of ") + at.isoformat(timespec="seconds")]
    for stage, group in pipeline.by_stage(deals).items():
        if not group:
            continue
        out.append("")
        out.append(f"{_label(stage, lang)} ({len(group)})")
        for d in group:
            parts = [f"  {d.survey}", who(d.customer) or "-", f"sales {who(d.salesperson) or '-'}"]
            if d.days_in_stage is not None:
                parts.append(f"{'>=' if d.days_at_least else ''}{d.days_in_stage:g} wd")
            if d.deadline is not None:
                parts.append(f"due {d.deadline.isoformat(timespec='minutes')}")
            if d.state in ("late", "long", "error"):
                parts.append(d.state.upper())
            if d.negotiation.get("rounds"):
                n = d.negotiation
                parts.append(f"rounds {n['rounds']} (price {n['price_cuts']}, contract {n['contract_changes']}"
                             + (f", NOT INFORMED {n['manager_not_informed']}" if n["manager_not_informed"] else "") + ")")
            if d.stage == "lost":
                parts.append(f"lost at {_label(d.lost_stage, lang) if d.lost_stage else '-'}: {d.lost_reason or '-'}")
            if d.referral:
                r = d.referral
                amount = f"{r['amount']:,.2f} {r['currency']}" if r["amount"] is not None else r["state"]
                parts.append(f"referral {who(r['person'])} class {r['class'].upper()} {r['share']:.0%}: {amount}"
                             + (" CONFLICT" if r["conflict"] else ""))
            out.append("  ".join(parts))
    out.append("")
    out.append("按业务经理" if zh else "By sales manager")
    for manager, groups in view.items():
        counts = ", ".join(f"{k} {len(v)}" for k, v in groups.items())
        out.append(f"  {who(manager) or '(none)'}: {counts}")
        for d in groups["long_negotiations"]:
            out.append(f"    long negotiation {d.survey} {'>=' if d.days_at_least else ''}{d.days_in_stage:g} wd")
        for d in groups["lost"]:
            out.append(f"    lost {d.survey}: {d.lost_reason or '-'}")
    return "\n".join(out)
