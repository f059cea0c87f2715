"""servicebook report — after-sales figures and open cases as of a date (售后报表与未结案件).

    servicebook report inspections|parts|technicians|value|feedback|cases|delays|workload|satisfaction|times
                       [--at DATE] [--since DATE]
                       [--format text|json] [--lang zh|en] [--root PATH]

``--at`` (date or instant, default now) is the moment the figures are computed for; records and
history after it are ignored. ``--since`` starts the period of technicians and feedback (default:
1 January of the as-of year). ``--lang``: the language of the customer names
(``servicebook.derive.names.short_name``, the site's rule) and, for ``cases``, of the kind and status
labels. ``cases``: the open cases (``servicebook.derive.cases``, the figures of the site's home page):
the total, by kind of case, the open records by form and status, and the list of open cases.
``delays``: the breached SLA clocks as of ``--at`` with and without a recorded reason
(``servicebook.derive.delays``, the site's SLA page), per person and one by one (seed 001: delays
without cause are pursued).
``workload``: per owner, the open SLA clocks, how many are late and at risk, and the queue in the
order to work it, with how late or the time left (``servicebook.derive.workload``, the site's
people pages). ``satisfaction``: the callbacks' answers overall, per person (the owner of the case
called back about) and per month (``servicebook.derive.satisfaction``). ``times``: median and 90th
percentile of response and resolution times per month, in business time as the SLA engine counts
it (``servicebook.derive.sla.times``).
Exit status: 0 done, 2 usage error.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from servicebook.load import corpus as corpus_mod
from servicebook.derive import cases
from servicebook.derive import delays
from servicebook.derive.aftersales import feedback
from servicebook.derive.aftersales import inspections
from servicebook.derive import names
from servicebook.derive import satisfaction
from servicebook.derive import workload
from servicebook.derive.sla import times
from servicebook.derive.aftersales import parts
from servicebook.derive.aftersales import technicians
from servicebook.derive.aftersales import value_index
from servicebook.derive.aftersales.common import as_date, as_datetime
from servicebook.commands._common import UsageError, add_root, at_or_now, fail, find_root, now_instant, print_json
from servicebook.derive.sla.reports import format_duration
from servicebook.load.instants import format_instant
from servicebook.site import i18n

NAME = "report"
HELP = ("After-sales figures: inspections, parts, technicians, customer value, feedback; open cases; "
        "unexplained delays; workload, satisfaction, response and resolution times "
        "(售后报表、未结案件、无故超期、工作量、满意度与响应/解决时长).")
TOPICS = ("inspections", "parts", "technicians", "value", "feedback", "cases", "delays", "workload", "satisfaction",
          "times")


def configure(parser):
    parser.add_argument("topic", choices=TOPICS)
    parser.add_argument("--at", help="as of this date or instant (default: now)")
    parser.add_argument("--since", help="start of the period (technicians, feedback); default 1 January")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--lang", choices=names.LANGS, default="zh", help="language of the names shown")
    add_root(parser)


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, tuple) else "|".join(map(str, k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def figures(c, topic: str, at, since, lang: str = "zh") -> dict:
    if topic == "inspections":
        computed = inspections.schedules(c, at)  # the SLA engine's, per installation
        items = inspections.schedule(c, at, computed=computed)  # every month of every installation
        return {"by_station": inspections.summary(c, at, "station", items=items),
                "by_engineer": inspections.summary(c, at, "engineer", items=items),
                "plan": inspections.station_plan(c, at, items), "schedule": items,
                "unscheduled": inspections.unscheduled(computed),
                "also_visit": inspections.also_visit(c, at, items),
                "findings": inspections.findings_feed(c, at)}
    if topic == "parts":
        s = parts.wait_summary(c, at)
        return {"month_ends": [d.isoformat() for d in parts.month_ends(at)], "month_end_stock": parts.month_end_stock(c, at),
                "below_plan": parts.below_plan(c, at), "consumption": parts.consumption(c, at),
                "waits": parts.waits(c, at), "wait_summary": {**_plain(s), "share": s.share}}
    if topic == "technicians":
        return {"period": [as_date(since).isoformat(), as_date(at).isoformat()],
                "appraisal": [dataclasses.replace(a, name=names.short_name(c.records.get(a.engineer), lang))
                              for a in technicians.appraisal(c, since, at)],
                "staffing": [{**_plain(s), "gap": s.gap} for s in technicians.staffing(c, at)]}
    if topic == "cases":
        return open_cases(c, as_datetime(at), lang)
    if topic == "delays":
        return delay_figures(c, at, lang)
    if topic == "workload":
        return workload_figures(c, at, lang)
    if topic == "satisfaction":
        return satisfaction_figures(c, at, lang)
    if topic == "times":
        return times_figures(c, at)
    if topic == "value":
        return {"ranked": [{"customer": s.customer, "name": names.short_name(c.records.get(s.customer), lang),
                            "index": s.index, "class": s.customer_class, "coverage": s.coverage,
                            "factors": {k: {"value": f.value, "source": f.source} for k, f in s.factors.items()}}
                           for s in value_index.ranked(c, at)]}
    return {"products": [{**_plain(p), "per_100_installed": p.per_100_installed} for p in feedback.products(c, at, since)],
            "by_region": feedback.by(c, at, "region", since), "by_category": feedback.by(c, at, "category", since)}


def open_cases(c, at, lang: str = "zh") -> dict:
    """The open cases as of ``at`` (``cases.open_cases``), with labels in ``lang``."""
    found = cases.open_cases(c, at)

    def kind_label(kind):
        return c.schemas.title(kind, (), lang)

    def status_label(kind, status):
        return c.lifecycle.label(kind, status, lang) if isinstance(status, str) else None

    return {
        "at": format_instant(found.at), "open": found.total,
        "by_kind": [{"kind": k, "label": i18n.t("cases.deals" if k == "deal" else f"cases.{k}", lang), "open": n} for k, n in found.by_kind.items()],
        "open_records": found.records,
        "by_status": [{"kind": row.kind, "kind_label": kind_label(row.kind), "status": row.status,
                       "status_label": status_label(row.kind, row.status), "count": row.count}
                      for row in found.by_status],
        "cases": [{"root": ch.root.id, "kind": ch.kind, "customer": ch.customer,
                   "customer_name": names.short_name(c.records.get(ch.customer), lang) if ch.customer else None,
                   "state": {"record": ch.state_record.id, "kind": ch.state_record.kind,
                             "status": ch.status.get(ch.state_record.id),
                             "label": f"{kind_label(ch.state_record.kind)}: "
                                      f"{status_label(ch.state_record.kind, ch.status.get(ch.state_record.id)) or '-'}"},
                   "open_records": [{"id": r.id, "kind": r.kind, "status": ch.status.get(r.id)} for r in ch.open_records],
                   "records": len(ch.records), "started": ch.started, "last_activity": ch.last}
                  for ch in found.chains],
    }


def _at(at) -> str:
    return at if isinstance(at, str) else format_instant(as_datetime(at))


def _name(c, rid, lang: str) -> str | None:
    return names.short_name(c.records.get(rid), lang) if isinstance(rid, str) else None


def delay_figures(c, at, lang: str = "zh") -> dict:
    """Breached clocks with and without a reason (``delays.delays``), per person and one by one."""
    found = delays.delays(c, at)

    def person_name(pid):
        return _name(c, pid, lang)

    return {
        "at": _at(at),
        "breached": len(found), "explained": sum(1 for d in found if d.explained),
        "unexplained": sum(1 for d in found if not d.explained),
        "by_person": [{**_plain(r), "unexplained_overdue_seconds": round(r.unexplained_overdue_seconds, 3),
                       "name": person_name(r.owner)} for r in delays.by_person(found)],
        "delays": [{"case": d.case, "kind": d.kind, "clock": d.clock, "policy_clock": d.key,
                    "title": d.title_zh if lang == "zh" else d.title, "owner": d.owner, "owner_name": person_name(d.owner),
                    "customer": d.customer, "deadline": d.deadline, "stopped": d.stopped,
                    "overdue_seconds": round(d.overdue_seconds, 3), "explained": d.explained,
                    "reason": _plain(d.reason) if d.reason else None} for d in found],
    }


def workload_figures(c, at, lang: str = "zh") -> dict:
    """Per owner: open clocks, late, at risk, and the queue (``workload.compute``)."""
    return {"at": _at(at), "owners": [
        {"owner": w.owner, "name": _name(c, w.owner, lang), "open": w.open, "cases": w.cases, "late": w.late,
         "at_risk": w.at_risk,
         "queue": [{"case": i.clock.case, "kind": i.clock.kind, "clock": i.clock.clock, "policy_clock": i.clock.key,
                    "title": i.clock.title_zh if lang == "zh" else i.clock.title, "state": i.clock.state,
                    "standing": i.standing, "deadline": i.clock.instant(i.clock.deadline),
                    "late_seconds": round(i.late_seconds, 3), "left_seconds": round(i.left_seconds, 3),
                    "customer": i.clock.customer, "customer_name": _name(c, i.clock.customer, lang)}
                   for i in w.queue]} for w in workload.compute(c, at)]}


def _satisfied(s) -> dict:
    return {"answered": s.answered, "solved": s.solved, "solved_share": satisfaction.share(s),
            "rated": s.rated, "mean": satisfaction.mean(s), "visits": s.visits, "problems_reported": s.problems_reported}


def satisfaction_figures(c, at, lang: str = "zh") -> dict:
    """The callbacks' answers overall, per person and per month (``satisfaction.figures``)."""
    found = satisfaction.figures(c, at)
    return {"at": _at(at), "overall": _satisfied(found.overall),
            "by_person": [{"person": p, "name": _name(c, p, lang), **_satisfied(s)} for p, s in found.by_person],
            "by_month": [{"month": m, **_satisfied(s)} for m, s in found.by_month]}


def times_figures(c, at) -> dict:
    """Median and 90th percentile of response and resolution times per month (``times.compute``)."""
    return {"at": _at(at), "clocks": {m: list(n) for m, n in times.MEASURES.items()},
            "months": {m: [{"month": r.month, "count": r.count, "median_seconds": r.median_seconds,
                            "p90_seconds": r.p90_seconds, "lower_bounds": r.lower_bounds} for r in rows]
                       for m, rows in times.compute(c, at).items()}}


def _workload_text(data: dict, lang: str) -> list[str]:
    t = i18n.t
    lines = [t("report.workload.summary", lang, at=data["at"])]
    for w in data["owners"]:
        who = names.label(w["name"], w["owner"]) if w["owner"] else t("people.nobody", lang)
        lines.append(f"  {who:28} {t('report.workload.row', lang, open=w['open'], late=w['late'], at_risk=w['at_risk'])}")
        for i in w["queue"]:
            figure = (f"{t('word.late_by', lang)} {format_duration(i['late_seconds'])}" if i["standing"] == "late" else
                      f"{t('people.time_left', lang)} {format_duration(i['left_seconds'])}" if i["standing"] == "at_risk" else
                      f"{t('state.' + i['state'], lang)}, {t('people.time_left', lang)} {format_duration(i['left_seconds'])}"
                      if i["deadline"] else t("state." + i["state"], lang))
            lines.append(f"      {i['case']}  {i['title']}  {i['deadline'] or '-'}  {figure}")
    return lines


def _satisfaction_text(data: dict, lang: str) -> list[str]:
    t = i18n.t

    def row(s):
        return t("report.satisfaction.row", lang, solved=s["solved"], answered=s["answered"],
                 share="-" if s["solved_share"] is None else f"{s['solved_share']:g}%",
                 mean="-" if s["mean"] is None else f"{s['mean']:.2f}", rated=s["rated"], visits=s["visits"],
                 problems=s["problems_reported"])

    lines = [t("report.satisfaction.summary", lang, at=data["at"]), "  " + row(data["overall"]),
             t("report.satisfaction.by_person", lang)]
    lines += [f"  {names.label(p['name'], p['person']) if p['person'] else t('people.nobody', lang):28} {row(p)}"
              for p in data["by_person"]]
    lines.append(t("report.satisfaction.by_month", lang))
    lines += [f"  {m['month']}  {row(m)}" for m in data["by_month"]]
    return lines


def _times_text(data: dict, lang: str) -> list[str]:
    t = i18n.t
    lines = [t("report.times.summary", lang, at=data["at"])]
    for measure, rows in data["months"].items():
        lines.append(t(f"times.{measure}", lang) + f" ({', '.join(data['clocks'][measure])})")
        for r in rows:
            median = "-" if r["median_seconds"] is None else format_duration(r["median_seconds"])
            p90 = "-" if r["p90_seconds"] is None else format_duration(r["p90_seconds"])
            lines.append(f"  {r['month'] or t('word.total', lang):8} n={r['count']:<4} median {median:>8}  p90 {p90:>8}")
    return lines


def _delays_text(data: dict, lang: str) -> list[str]:
    t = i18n.t
    lines = [t("report.delays.summary", lang, at=data["at"], n=data["breached"], explained=data["explained"],
               unexplained=data["unexplained"]), t("report.delays.by_person", lang)]
    for r in data["by_person"]:
        who = names.label(r["name"], r["owner"]) if r["owner"] else t("word.unknown", lang)
        lines.append(f"  {who:28} {t('report.delays.row', lang, n=r['breached'], explained=r['explained'], unexplained=r['unexplained'], overdue=format_duration(r['unexplained_overdue_seconds']))}")
    lines.append(t("report.delays.list", lang))
    for d in data["delays"]:
        why = (f"{' '.join(d['reason']['reason'].split())} ({d['reason']['by']}, {d['reason']['at']})" if d["reason"]
               else t("report.delays.no_reason", lang))
        who = names.label(d["owner_name"], d["owner"]) if d["owner"] else "-"
        lines.append(f"  {d['case']}  {d['clock']}  {who}  {d['deadline'] or '-'}  "
                     f"+{format_duration(d['overdue_seconds'])}  {why}")
    return lines


def _cases_text(data: dict, lang: str) -> list[str]:
    lines = [i18n.t("report.cases.open", lang, at=data["at"], n=data["open"]),
             "  " + " · ".join(f"{k['label']} {k['open']}" for k in data["by_kind"]),
             i18n.t("report.cases.by_status", lang, n=data["open_records"])]
    width = max((len(r["kind_label"]) for r in data["by_status"]), default=0)
    lines += [f"  {r['kind_label']:{width}}  {r['status_label'] or r['status'] or '-'}  {r['count']}" for r in data["by_status"]]
    lines.append(i18n.t("report.cases.list", lang))
    for case in data["cases"]:
        customer = names.label(case["customer_name"], case["customer"]) if case["customer"] else "-"
        lines.append(f"  {case['root']}  {i18n.t('case.kind.' + case['kind'], lang)}  {customer}  {case['state']['label']}  "
                     f"{_plain(case['last_activity']) or '-'}")
    return lines


def _text(topic: str, data: dict, lang: str = "zh") -> str:
    lines = []
    if topic == "cases":
        lines += _cases_text(data, lang)
    elif topic == "delays":
        lines += _delays_text(data, lang)
    elif topic == "workload":
        lines += _workload_text(data, lang)
    elif topic == "satisfaction":
        lines += _satisfaction_text(data, lang)
    elif topic == "times":
        lines += _times_text(data, lang)
    elif topic == "inspections":
        lines.append("station  overdue due upcoming done missed late")
        for r in data["by_station"]:
            lines.append(f"{r['key'] or '-':8} {r['overdue']:7} {r['due']:3} {r['upcoming']:8} {r['done']:4} "
                         f"{r['missed']:6} {r['late']:4}")
        for station, items in data["plan"].items():
            lines.append(f"plan {station}:")
            lines += [f"  {i.due_on} {i.installation} m{i.month} {i.engineer or '-'} {i.state}" for i in items]
        lines += [f"no schedule for {u['installation']}: {u['error']}" for u in data["unscheduled"]]
        lines += [f"also visit {sg.customer}: {', '.join(sg.reasons)}" + (f" (near {sg.near})" if sg.near else "")
                  for sg in data["also_visit"]]
    elif topic == "parts":
        lines.append("below plan:")
        lines += [f"  {s.part_number:14} {s.grade:9} planned {s.planned:3} actual {s.actual:3} short {s.shortfall}"
                  for s in data["below_plan"]]
        w = data["wait_summary"]
        lines.append(f"repairs that waited for parts: {w['waited']} of {w['repairs']}, {w['total_days']:.1f} days in "
                     f"all, mean {w['mean_days']:.1f}, max {w['max_days']:.1f}, still waiting {w['still_waiting']}")
        for product, months in data["consumption"].items():
            lines.append(f"  used {product or '-'}: " + ", ".join(f"{m} {n}" for m, n in months.items()))
    elif topic == "technicians":
        lines.append(f"period {data['period'][0]} to {data['period'][1]}")
        lines += [f"  {names.label(a.name, a.engineer):28} grade {a.grade or '-'} repairs {a.records:3} "
                  f"complaints {a.complaints:3} inspections {a.inspections:3} workload {a.workload:6.2f} "
                  f"quality {a.quality:6.2f} customer {a.rating_points:+7.2f} base {a.base:7.2f} "
                  f"bonus {a.bonus_pct:4g}% score {a.score:7.2f}" for a in data["appraisal"]]
        lines += [f"  staffing {s['region'] or '-'}: {s['machines']} machines, {len(s['engineers'])} engineers, "
                  f"target {s['target']:g}/engineer, gap {s['gap']:+d}" for s in data["staffing"]]
    elif topic == "value":
        lines += [f"{i:3}. {value_index.shown(s['index']):>6} {s['class'] or '-'} {s['customer']} {s['name']}"
                  for i, s in enumerate(data["ranked"], 1)]
    else:
        lines += [f"{p['product'] or '-':24} failures {p['failures']:3} installed {p['installed']:3} "
                  f"not supported {len(p['unsupported'])}" for p in data["products"]]
        lines.append("by region: " + ", ".join(f"{k or '-'} {v}" for k, v in data["by_region"].items()))
    return "\n".join(lines)


def run(args) -> int:
    try:
        root = find_root(args.root)
        at_or_now(args.at)  # checked by the one parser; a date stays a date (as of its end)
        at = args.at if args.at is not None else now_instant()
        since = args.since or date(as_date(at).year, 1, 1).isoformat()
        try:
            as_date(since)
        except ValueError as err:
            raise UsageError(f"--since {since!r}: {err}") from None
        c = corpus_mod.load(root)
        data = figures(c, args.topic, at, since, args.lang)
    except UsageError as err:
        return fail(str(err))
    if args.format == "json":
        print_json(_plain(data))
    else:
        print(_text(args.topic, data, args.lang))
    return 0
