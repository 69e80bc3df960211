"""Command line of the workshop: python -m checker COMMAND (the Makefile calls it).
Arguments only: each command is one call into the module that does the job."""

import argparse
import json
from pathlib import Path

from checker.command import ui
from checker.command.course import ManifestError, find, load


def cmd_check(args: argparse.Namespace) -> int:
    from checker.command import runner

    return runner.check(find(args.lab), args.lab_dir, args.verbose, args.json, args.until or [])


def cmd_solution(args: argparse.Namespace) -> int:
    from checker.command import catchup

    return catchup.solution(find(args.lab))


def cmd_reset(args: argparse.Namespace) -> int:
    from checker.command import catchup

    return catchup.reset(find(args.lab))


def cmd_watch(args: argparse.Namespace) -> int:
    from checker.command.watch import watch

    return watch(find(args.lab), args.lab_dir, args.manual)


def cmd_progress(_: argparse.Namespace) -> int:
    from checker.command import progress

    return progress.show()


def cmd_labs(args: argparse.Namespace) -> int:
    labs = [lab for lab in load() if lab.ready]
    if args.json:
        # The GitHub matrix (labs.yml) reads this: one entry per lab.
        print(json.dumps([{"lab": lab.code, "cluster": "cluster" in lab.needs,
                           "monitoring": "monitoring" in lab.needs} for lab in labs]))  # fmt: skip
        return 0
    for lab in load():
        where = f"labs/{lab.slug}" if lab.ready else "(coming soon)"
        ui.say(f"  {lab.number:>2}  {lab.title:<40} {lab.minutes:>3} min  {where}")
    return 0


def cmd_labs_sync(args: argparse.Namespace) -> int:
    from checker.upkeep import labsync

    if args.check:
        found = labsync.differences()
        for line in found:
            ui.say(f"{ui.FAIL} {line}")
        if not found:
            ui.say(f"{ui.PASS} every lab tree and the README agree with their owners")
        return 1 if found else 0
    changed, problems = labsync.sync()
    for name in changed:
        ui.say(f"  wrote {name}")
    for line in problems:
        ui.say(f"{ui.FAIL} {line}")
    ui.say(f"{ui.PASS} labs-sync: {len(changed)} file(s) rewritten" if not problems
           else f"{len(problems)} problem(s) labs-sync cannot fix: see above")  # fmt: skip
    return 1 if problems else 0


def cmd_capacity(args: argparse.Namespace) -> int:
    """Lab 10, Step 1: one pod's capacity, measured in the cluster, into capacity.json."""
    from checker.command.folders import resolve_lab_dir
    from checker.load import capacity

    lab_dir = resolve_lab_dir(find(10), args.lab_dir)
    if lab_dir is None:
        raise ManifestError("lab 10 has no folder of its own")
    if args.through_service:
        return capacity.through_service(args.through_service)
    return capacity.main(lab_dir)


def cmd_rollout(args: argparse.Namespace) -> int:
    """make deploy's wait: settled, or stuck (ends at once), or out of time."""

    from checker.cluster.rollout import rollout

    return rollout(args.timeout)


def cmd_stamp(args: argparse.Namespace) -> int:
    """make deploy: records in each rendered object the folder version it comes from."""
    from checker.cluster.applied import stamp

    stamp(Path(args.rendered), Path(args.folder))
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    """Prints the folder that lab N's checker would check (for make image)."""
    from checker.command.folders import resolve_lab_dir

    lab_dir = resolve_lab_dir(find(args.lab), args.lab_dir)
    if lab_dir is None:
        raise ManifestError(f"lab {args.lab} has no folder of its own")
    print(lab_dir)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m checker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run a lab's checker")
    check.add_argument("lab")
    check.add_argument("--lab-dir", help="check this folder instead of the learner's tree")
    check.add_argument("--json", help="where to write the machine-readable results")
    check.add_argument("-v", "--verbose", action="store_true", help="timings and tracebacks")
    check.add_argument("--until", action="append", metavar="CHECK",
                       help="stop once this check (repeatable: these checks) has run")  # fmt: skip
    check.set_defaults(func=cmd_check)
    for name, func in (("solution", cmd_solution), ("reset", cmd_reset)):
        one = sub.add_parser(name)
        one.add_argument("lab")
        one.set_defaults(func=func)
    watch = sub.add_parser("watch", help="re-run a lab's checker on every change")
    watch.add_argument("lab")
    watch.add_argument("--lab-dir")
    watch.add_argument("--manual", action="store_true", help="press Enter instead of watching")
    watch.set_defaults(func=cmd_watch)
    tree = sub.add_parser("tree", help="print the folder of a lab")
    tree.add_argument("lab")
    tree.add_argument("--lab-dir")
    tree.set_defaults(func=cmd_tree)
    sub.add_parser("progress").set_defaults(func=cmd_progress)
    measure = sub.add_parser("capacity", help="lab 10: measure one pod's capacity")
    measure.add_argument("--lab-dir", type=Path, default=None)
    measure.add_argument("--through-service", type=float, metavar="SECONDS", default=0,
                         help="instead: load the Service with wrk for SECONDS")  # fmt: skip
    measure.set_defaults(func=cmd_capacity)
    rollout = sub.add_parser("rollout", help="wait for the Deployment's rollout (make deploy)")
    rollout.add_argument("--timeout", type=float, default=150, metavar="SECONDS")
    rollout.set_defaults(func=cmd_rollout)
    record = sub.add_parser("stamp", help="make deploy: record the folder's version on each object")
    record.add_argument("rendered", help="the rendered manifests, rewritten in place")
    record.add_argument("folder", help="the k8s/ folder they were rendered from")
    record.set_defaults(func=cmd_stamp)
    labs = sub.add_parser("labs", help="list the labs")
    labs.add_argument("--json", action="store_true", help="the CI matrix, as JSON")
    labs.set_defaults(func=cmd_labs)
    sync = sub.add_parser("labs-sync", help="rewrite every carried file from its owner")
    sync.add_argument("--check", action="store_true", help="only say what differs")
    sync.set_defaults(func=cmd_labs_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "lab") and not str(args.lab).strip():
        ui.say("which lab? for example: make check-lab 2")
        return 2
    try:
        return args.func(args)
    except ManifestError as exc:
        ui.say(f"{ui.FAIL} {exc}")
        return 2
    except OSError as exc:
        ui.say(f"{ui.FAIL} {exc.strerror or exc}: {exc.filename or ''}")
        return 2
    except KeyboardInterrupt:
        ui.say("\ninterrupted")
        return 130
