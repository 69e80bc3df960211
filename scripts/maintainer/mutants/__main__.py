"""make mutants N: lab N's reference solution, changed one small way at a time in a
scratch copy, each change judged by the lab's checker. A mutant the checker passes
survives; it must become a caught mistake, or be listed in
tests/labs/labNN/equivalent.toml with why it keeps the contract.

    python scripts/maintainer/mutants N [--sample K] [--seed S] [--list]
    (make mutants N MUTANTS=K SEED=S)

Exit: 0 when every survivor is explained, 1 when one is not, 2 on bad input."""

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import documents
import equivalent
import lab_mutants
import score
import verdict

from checker.command.catchup import IGNORED
from checker.command.course import REPO, ManifestError, find

TIMEOUT_SECONDS = 300


def stop(message: str, hint: str) -> None:
    print(f"✗ {message}\n  hint: {hint}", file=sys.stderr)
    sys.exit(2)


def options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("lab")
    parser.add_argument("--sample", default="", help="how many mutants to try (default: all)")
    parser.add_argument("--seed", default="1", help="which sample (default 1)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    return parser.parse_args(argv)


def whole_number(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        stop(f"{name}={value!r} is not a whole number", f"for example make mutants 2 {name}=40")
    return number


def lab_of(text: str):
    try:
        lab = find(text)
    except ManifestError as exc:
        stop(str(exc), "make mutants N, with N a lab number from make labs")
    if not lab.ready or not lab.tree:
        stop(f"lab {lab.code} has no solution to mutate", "labs 01–10 have one")
    return lab


def main(argv: list[str]) -> int:
    args = options(argv)
    lab = lab_of(args.lab)
    sample, seed = whole_number(args.sample or "0", "MUTANTS"), whole_number(args.seed, "SEED")
    try:
        listed = equivalent.load(lab.suite)
    except equivalent.BadList as exc:
        stop(str(exc), "each [[mutant]] needs file, was, now and why")
    every = lab_mutants.mutants_of(lab)
    python = sum(m.kind == "python" for m in every)
    keys = {m.key for m in every}
    if gone := equivalent.stale(listed, keys):
        stop(f"{len(gone)} entries of {lab.suite / equivalent.FILE} match no mutant any more, "
             f"first: {gone[0].file} {gone[0].was!r} → {gone[0].now!r}",
             "update or remove them: the solution changed")  # fmt: skip
    explained = {entry.key for entry in listed}
    open_ = [m for m in every if m.key not in explained]
    chosen = open_
    if sample and sample < len(open_):
        chosen = sorted(random.Random(seed).sample(open_, sample), key=lambda m: m.key)
    print(f"lab {lab.code}: {len(every)} mutants ({python} of its Python, "
          f"{len(every) - python} of its manifests and configuration"
          + (", judged by its offline checks" if lab_mutants.live(lab) else "")
          + f"), {len(explained)} listed as "
          f"equivalent; trying {len(chosen)}" + (f" (sample, seed {seed})" if chosen != open_
                                                 else ""))  # fmt: skip
    if args.list:
        for mutant in chosen:
            print(f"  {mutant.describe()}")
        return 0
    return sweep(lab, len(every), chosen, len(explained), seed)


def sweep(lab, total: int, chosen, explained: int, seed: int) -> int:
    with tempfile.TemporaryDirectory(prefix=f"mutants-{lab.code}-") as scratch:
        scratch = Path(scratch)
        tree = scratch / lab.slug
        shutil.copytree(lab.solution_path, tree, ignore=IGNORED)
        documents.normalize(tree)
        until = lab_mutants.offline_checks(lab)
        baseline = verdict.judge(lab.number, tree, scratch, until, TIMEOUT_SECONDS)
        if baseline.caught or baseline.note != "every check passed":
            stop(
                f"the solution itself does not pass here ({baseline.note or baseline.by})",
                f"make check-lab {lab.number} LAB_DIR={lab.solution}, then fix that first",
            )
        print(f"  the solution passes in {baseline.seconds:.1f} s")
        survivors, caught, started = [], 0, time.monotonic()
        for index, mutant in enumerate(chosen, 1):
            original = (tree / mutant.file).read_text(encoding="utf-8")
            mutant.apply(tree)
            try:
                judged = verdict.judge(lab.number, tree, scratch, until, TIMEOUT_SECONDS)
            finally:
                (tree / mutant.file).write_text(original, encoding="utf-8")
            mark = (f"✓ caught by {', '.join(judged.by)}" if judged.caught
                    else f"✗ SURVIVED: {judged.note}")  # fmt: skip
            print(f"  [{index:>3}/{len(chosen)}] {mutant.describe()}\n        {mark} "
                  f"({judged.seconds:.1f} s)", flush=True)  # fmt: skip
            caught += judged.caught
            if not judged.caught:
                survivors.append(mutant)
    per = (time.monotonic() - started) / max(len(chosen), 1)
    score.record(f"{lab.code}-{lab.slug.split('-', 1)[1]}", {
        "mutants": total, "tried": len(chosen), "caught": caught,
        "equivalent": explained, "surviving": len(survivors), "seed": seed,
        "seconds_per_mutant": round(per, 1)})  # fmt: skip
    print(f"\nlab {lab.code}: {len(chosen)} tried, {caught} caught, {explained} equivalent, "
          f"{len(survivors)} surviving · {per:.1f} s per mutant")  # fmt: skip
    if survivors:
        print(f"each survivor becomes a caught mistake (a check that catches it, with its hint), "
              f"or an entry of {lab.suite.relative_to(REPO) / equivalent.FILE} "
              "(file, was, now, why)")  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
