"""The keys of case and customer pages: a digest of every input the page is made from, so a kept page
(`servicebook.write.pagestore`) is reused exactly when generating it again would give the same text.

A case page shows its chain's records (forms, timeline, approvals, audit trail, clocks, knowledge-base
matches) and names or links the records they refer to and the records that refer to them. Its key is
made of:

- the build's key (`build_key`): the package's source, the language and page options, the schemas
  and lifecycle, and every record that is not a case or a customer (people, products, KB entries,
  policies, calendars, ...: any page may name or use them), and the personal values masked in text;
- the chain as derived for this build (its records' data, statuses, state, each record's last
  change by the build's instant, which with the data fixes the history entries shown: those by
  that time, and where each record is shown);
- the clocks of its records, by the fields a page shows (state, deadline, owner, ...; not the
  seconds left, which move with every build without changing the page);
- each record's audit trail;
- one hop out: each record a chain record refers to (its data: a page shows its name) and each
  record referring to one (its kind), with where each is shown.

`tests/test_site_incremental.py` proves kept pages equal to pages generated from scratch after edits
of every kind of input.
"""
from __future__ import annotations

from servicebook.derive import attention
from servicebook.derive import cases
from servicebook.load.records import fingerprint
from servicebook.write.pagestore import code_digest, digest, folder_digest


def _content(gen, rec):
    """A record's kind, ID and data as one digest: its `fingerprint`, which the record keeps (a
    customer's or a person's record is an input of many pages); the text of the data where it
    cannot be digested."""
    return fingerprint(rec) or repr((rec.kind, rec.id, rec.data))


def build_key(gen) -> str:
    """What every kept page of a build depends on besides its own records."""
    m, o = gen.m, gen.o
    options = {k: o.get(k) for k in ("lang", "show_personal_data", "detail_window_days", "closed_case_pages_max",
                                      "archive_page_size", "recent_days", "use_directory_urls")}
    shared = [_content(gen, r) for r in sorted(m.records.values(), key=lambda r: r.id)
              if r.kind != "customer" and not cases.is_case_kind(r.kind)]
    known = m.masker.known
    return digest(code_digest(), options, str(m.root), folder_digest(m.root / "schemas"), shared,
                  m.audit_available, known.digest if known is not None else None)


def _clock(c) -> tuple:
    s = c.src
    return (c.record_id, c.name, c.label_en, c.label_zh, c.state, c.deadline, c.finished, c.person,
            getattr(s, "target", None), getattr(s, "at_least", None), getattr(s, "missing", None),
            getattr(s, "last_cycle", None), getattr(s, "open", None), getattr(s, "error", None))


def case_key(gen, ch, build: str) -> str:
    m, where = gen.m, gen.where
    ids = {r.id for r in ch.records}
    parts: list = [build, ch.root.id, m.page(ch), ch.kind, ch.open, ch.started, ch.last, ch.customer,
                   sorted(ch.status.items()), [r.id for r in ch.open_records], sorted(ch.changed.items())]
    hop: set[str] = {ch.customer} if isinstance(ch.customer, str) else set()
    for r in ch.records:
        parts.append((_content(gen, r), where.get(r.id), repr(m.trails.get(r.id))))
        parts.append([_clock(c) for c in m.clocks_of(r.id)])
        parts.append([(o.id, o.kind, where.get(o.id)) for o in m.c.referrers(r.id)])
        # what the record refers to (the page names them): the index's references, the same
        # schema markers the page's own walk follows (the record's data above fixes their order)
        hop.update(target for _, target, _ in m.c.index.refs.get(r.id, ()) if target not in ids)
        customer = m.customer_id(r)
        if customer:
            hop.add(customer)
    for rid in sorted(hop):
        other = m.records.get(rid)
        parts.append((rid, where.get(rid), _content(gen, other) if other is not None else None))
    return digest(*parts)


def customer_key(gen, rec, build: str) -> str:
    """A customer page's inputs: the customer record, its chains as their rows show them, its
    callbacks and installations, what its callbacks said, its value, its SLA flag, and the
    records all of these refer to (one hop)."""
    m, where = gen.m, gen.where
    parts: list = [build, _content(gen, rec), where.get(rec.id)]
    for ch in gen.by_customer("chain").get(rec.id, []):
        state = ch.state_record
        parts.append((ch.root.id, m.page(ch), ch.kind, ch.open, ch.customer, state.kind, ch.status.get(state.id),
                      ch.started, ch.last, len(ch.records)))
    hop: set[str] = set()
    for kind in ("callback", "installation"):
        for r in gen.by_customer(kind).get(rec.id, []):
            parts.append((_content(gen, r), where.get(r.id)))
            hop.update(target for _, target, _ in m.c.index.refs.get(r.id, ()))
    hop.update(target for _, target, _ in m.c.index.refs.get(rec.id, ()))
    parts += [repr(gen.satisfactions.get(rec.id)), repr(gen.values().score(rec.id)),
              attention.flag(list(gen.clocks_by_customer().get(rec.id, ())))]
    for rid in sorted(hop - {rec.id}):
        other = m.records.get(rid)
        parts.append((rid, where.get(rid), _content(gen, other) if other is not None else None))
    return digest(*parts)


def group_key(gen, kinds, *extra) -> str:
    """A group of list or report pages made by one function (`pages._Generator.group`): the build's
    key, the moment, where every record is shown, which records make each chain, every record of
    ``kinds`` (the kinds of records the function reads; records that are not cases or customers are
    in the build's key already) and ``extra`` (derived figures the function is given)."""
    return digest(gen.build_key(), gen.m.as_of, _once(gen, "where", lambda: sorted(gen.where.items())),
                  _once(gen, "chains", lambda: sorted((ch.root.id, sorted(r.id for r in ch.records))
                                                      for ch in gen.m.chains)),
                  [(kind, _once(gen, f"kind:{kind}", lambda kind=kind: [
                      (r.id, _content(gen, r)) for r in sorted(gen.m.by_kind.get(kind, ()), key=lambda r: r.id)]))
                   for kind in sorted(set(kinds))], *extra)


def _once(gen, name: str, parts) -> str:
    """The digest of ``parts()``, taken once per build: groups share these inputs."""
    found = gen.group_inputs.get(name)
    if found is None:
        found = gen.group_inputs[name] = digest(parts())
    return found


def chain_rows(gen) -> str:
    """What the lists of chains (`pages._Generator.chain_row`, the customers' case counts) show of
    every chain, in the build's order: its root, page or archive page, kind, whether open, its
    customer (and that record's data: the row names it), its state record's kind and status, when
    it started and last changed, and how many records it has."""
    m = gen.m

    def rows():
        out = []
        for ch in m.chains:
            state = ch.state_record
            customer = m.records.get(ch.customer) if isinstance(ch.customer, str) else None
            out.append((ch.root.id, m.page(ch), m.archive_page(ch), ch.kind, ch.open, ch.customer,
                        _content(gen, customer) if customer is not None else None, state.kind,
                        ch.status.get(state.id), ch.started, ch.last, len(ch.records)))
        return out
    return _once(gen, "chain rows", rows)


def person_key(gen, item, build: str) -> str:
    """A person's queue page (`people.person_page`): the person (in the build's key), each open
    clock of their queue as its row shows it (standing, case, clock, state, deadline, time late or
    left, customer, with where each is shown and the customer's record), and what their callbacks
    said."""
    from .people import satisfied_row  # (people imports this module)

    m, where = gen.m, gen.where
    rec, load = item
    parts: list = [build, rec.id, m.as_of]
    for i in load.queue if load else ():
        c = i.clock
        customer = m.records.get(c.customer) if isinstance(c.customer, str) else None
        parts.append((i.standing, c.case, where.get(c.case) if isinstance(c.case, str) else None, c.title, c.title_zh,
                      c.state, c.deadline, c.at_least, i.late_seconds, i.left_seconds, c.customer,
                      where.get(c.customer) if isinstance(c.customer, str) else None,
                      _content(gen, customer) if customer is not None else None))
    said = gen.satisfaction_by_person.get(rec.id)
    parts.append(satisfied_row(gen, said) if said else None)
    return digest(*parts)
