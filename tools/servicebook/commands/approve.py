"""servicebook approve ID --as ROLE — record an approval as git evidence, for teams that merge
locally or on GitLab, Gitea or Gitee: a commit carrying the same trailers the GitHub merge step
writes (``Approved-by``, ``Approved-role``, ``Reviewed-on``, ``Approved-record``, and
``Approved-blob``: the git blob of the record as approved), signed with the approver's SSH key
(``git commit -S``, ``gpg.format=ssh``). It refuses (exit 2) when git has no signing key
configured, or the configured key is not one of the approver's ``signing_keys``: unsigned evidence
proves nothing (``servicebook audit``). With ``--status`` it first moves the record into the
approval status (审批留痕)."""

from __future__ import annotations

import sys
from pathlib import Path

from servicebook.commands._common import UsageError, add_root, at_text_or_now, find_root, missing_record

NAME = "approve"
HELP = "Approve a record: commit with Approved-by/Approved-role trailers (审批)."


def configure(parser):
    parser.add_argument("id", help="record ID")
    parser.add_argument("--as", dest="role",
                        help="the role approving (default: the approval role of --status, or of "
                             "the record's current status)")
    parser.add_argument("--by", help="approver: person ID, git handle or e-mail (default: the "
                                     "person whose git.email is git config user.email)")
    parser.add_argument("--status", help="move the record into this approval status first")
    parser.add_argument("--note", help="comment for the history entry and the commit")
    parser.add_argument("--at", help="instant of the approval (default: now)")
    parser.add_argument("--reviewed-on", help="URL of the review (merge request, pull request)")
    parser.add_argument("--print-trailers", action="store_true",
                        help="print the trailers and change nothing (for a merge step)")
    add_root(parser)


def trailers(person, role: str, record_id: str, reviewed_on: str | None = None,
             blob: str | None = None) -> str:
    name = person.git_name or person.name
    lines = [f"Approved-by: {name} <{person.email}>", f"Approved-role: {role}"]
    if reviewed_on:
        lines.append(f"Reviewed-on: {reviewed_on}")
    lines.append(f"Approved-record: {record_id}")
    if blob:
        lines.append(f"Approved-blob: {blob}")
    return "\n".join(lines)


def signing_key(repo) -> tuple[str, str]:
    """(base64 blob of the public key git signs with, where it came from); ("", why not) when
    git has no usable SSH signing key configured."""
    from servicebook.derive.audit import sshsig

    value = _config(repo, "user.signingkey")
    if not value:
        return "", "git has no signing key configured (git config user.signingkey)"
    fmt = _config(repo, "gpg.format") or "openpgp"
    if fmt != "ssh":
        return "", f"git signs with gpg.format={fmt}; approvals are signed with SSH keys (gpg.format=ssh)"
    if value.startswith("key::"):
        blob = sshsig.key_blob(value[5:])
        return (blob, "user.signingkey") if blob else ("", f"user.signingkey {value!r} is no SSH public key")
    path = Path(value).expanduser()
    for candidate in (path, Path(f"{path}.pub")):
        try:
            text = candidate.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        blob = sshsig.key_blob(text.splitlines()[0] if text else "")
        if blob:
            return blob, str(candidate)
    return "", f"user.signingkey {value}: no OpenSSH public key there (nor in {path}.pub)"


def run(args) -> int:
    return approve(find_root(args.root), args)


def approve(root, args) -> int:
    import git

    from servicebook.derive.audit.trail import People, load_lifecycle, load_records

    at = at_text_or_now(args.at)  # checked first: a bad --at is a usage error (exit 2)
    try:
        repo = git.Repo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{root} is not a git repository") from None
    records = load_records(root)
    rec = records.get(args.id)
    if rec is None:
        return missing_record(root, args.id)
    people = People.from_records(records)
    lifecycle = load_lifecycle(root)
    if not args.role:
        args.role = lifecycle.approval_role(rec.kind, args.status or str(rec.data.get("status")))
        if not args.role:
            raise UsageError(f"{args.id} is not in an approval status; say --as ROLE")
    if args.by:
        person = people.find(args.by)
        if person is None:
            raise UsageError(f"no person record matches {args.by}")
    else:
        email = repo.git.config("user.email") if _has_config(repo, "user.email") else ""
        person = people.find(email) if email else None
        if person is None:
            raise UsageError(f"git user.email {email!r} matches no person record; use --by")
    if args.role not in person.roles:
        print(f"servicebook: {person.id} does not hold the role {args.role} "
              f"(holds: {', '.join(person.roles) or 'none'})", file=sys.stderr)
        return 1
    if person.id == rec.data.get("filled_by"):
        print(f"servicebook: {person.id} filled {args.id} and cannot approve it", file=sys.stderr)
        return 1
    if not person.email:
        raise UsageError(f"{person.id} has no git.email in the person record")
    path = str(rec.path)
    if args.print_trailers:  # the platform signs the merge it makes with these
        print(trailers(person, args.role, args.id, args.reviewed_on,
                       repo.git.hash_object("--", path)))
        return 0
    key, where = signing_key(repo)
    if not key:
        raise UsageError(f"{where}; {person.id}'s approval must be a commit signed with one of "
                         f"{person.id}'s signing_keys ({_fingerprints(person)}): "
                         "git config gpg.format ssh; git config user.signingkey ~/.ssh/id_ed25519.pub")
    if not any(k[0] == key for k in person.keys):
        from servicebook.derive.audit import sshsig

        raise UsageError(f"the signing key git is configured with ({sshsig.fingerprint(key)}, "
                         f"{where}) is not one of {person.id}'s signing_keys "
                         f"({_fingerprints(person)}) in records/person/{person.id}.yaml")
    if args.status:
        needed = lifecycle.approval_role(rec.kind, args.status)
        if needed is None:
            raise UsageError(f"'{args.status}' is not an approval status of {rec.kind}")
        if needed != args.role:
            raise UsageError(f"'{args.status}' is approved by a {needed}, not a {args.role}")
        _move(root, args.id, args.status, person.id, args.note, at)
    elif lifecycle.has(rec.kind) and not lifecycle.approval_role(rec.kind, str(rec.data.get("status"))):
        print(f"servicebook: note: {args.id} is in '{rec.data.get('status')}', which is not an "
              "approval status; recording an approval of its current content", file=sys.stderr)
    own = _git_email(repo)
    if own and own.lower() != person.email.lower():
        print(f"servicebook: note: committing as {own} an approval by {person.id} "
              f"<{person.email}>", file=sys.stderr)
    subject = f"Approve {args.id} as {args.role}" + (f": {args.status}" if args.status else "")
    body = f"{args.note}\n\n" if args.note else ""
    try:
        # the blob approved: the file as this commit writes it, else as it is on HEAD
        blob = (repo.git.hash_object("--", path) if args.status
                else repo.git.rev_parse(f"HEAD:{Path(path).as_posix()}"))
    except git.GitCommandError:
        raise UsageError(f"{path} is not committed; commit the record before approving it") from None
    block = trailers(person, args.role, args.id, args.reviewed_on, blob)
    message = f"{subject}\n\n{body}{block}\n"
    signed = ["git", "-c", "gpg.format=ssh", "commit", "-S", "-q", "-m", message]
    try:
        if args.status:
            repo.git.add("--", path)
            repo.git.execute([*signed, "--", path])
        else:
            repo.git.execute([*signed, "--allow-empty", "--only"])
    except git.GitCommandError as err:
        raise UsageError(f"git commit failed: {(err.stderr or '').strip() or err}") from None
    print(f"{args.id}: approved by {person.id} as {args.role} in {repo.head.commit.hexsha[:10]}")
    return 0


def _move(root, record_id, status, by, note, at) -> None:
    """The status change (``write.status.move``: comment-preserving, atomic, through the write
    guard); a refusal is a usage error here (exit 2), with validate's located problems."""
    from servicebook.write import guard
    from servicebook.write.status import MoveRefused, move
    from servicebook.write.writer import WriteRefused

    try:
        move(root, record_id, status, by, note, at)
    except (MoveRefused, guard.Invalid, WriteRefused) as err:
        raise UsageError(str(err)) from None


def _config(repo, key: str) -> str:
    import git

    try:
        return repo.git.config("--get", key).strip()
    except git.GitCommandError:
        return ""


def _fingerprints(person) -> str:
    from servicebook.derive.audit import sshsig

    return ", ".join(sshsig.fingerprint(k[0]) for k in person.keys) or "none on record"


def _has_config(repo, key: str) -> bool:
    import git

    try:
        repo.git.config(key)
        return True
    except git.GitCommandError:
        return False


def _git_email(repo) -> str:
    return repo.git.config("user.email") if _has_config(repo, "user.email") else ""
