"""Mutants of a solution's Python (app/), made by cosmic-ray's operators: comparison,
arithmetic and boolean operators, numbers, True/False, removed decorators, exception
types, loops that never run. cosmic-ray rather than mutmut: its operators work on
source text (parso) and it takes any test command, where mutmut 3 rewrites a package
into trampolines for its own pytest run; here the test is the lab's checker, run on a
copy of the folder."""

import warnings
from collections.abc import Iterator
from pathlib import Path

from mutant import Mutant, made

SKIPPED = {"core/VariableInserter", "core/VariableReplacer"}  # they need arguments
# ExceptionReplacer's stand-in exists only inside cosmic-ray's own runs; here it is an
# exception these apps never raise, so the handler still catches nothing.
STAND_IN = ("CosmicRayTestingException", "GeneratorExit")


def operators():
    import cosmic_ray.plugins

    for name in sorted(cosmic_ray.plugins.operator_names()):
        operator = cosmic_ray.plugins.get_operator(name)
        if name in SKIPPED or operator.arguments():
            continue
        yield name.removeprefix("core/"), operator()


def python_files(tree: Path) -> list[Path]:
    return sorted(p for p in (tree / "app").rglob("*.py") if "__pycache__" not in p.parts)


def compiles(source: str, file: str) -> bool:
    """False for a mutant that is not Python (an operator taking a dict's ** for a
    power): any checker catches it, so it measures nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # "is" with a literal, and such
        try:
            compile(source, file, "exec")
        except SyntaxError:
            return False
    return True


def mutants(tree: Path) -> Iterator[Mutant]:
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.mutating import mutate_code

    for path in python_files(tree):
        source = path.read_text(encoding="utf-8")
        nodes = list(ast_nodes(get_ast(source)))
        file = path.relative_to(tree).as_posix()
        for name, operator in operators():
            count = sum(1 for node in nodes for _ in operator.mutation_positions(node))
            for occurrence in range(count):
                after = mutate_code(source, operator, occurrence)
                if after is None or not compiles(after, file):
                    continue
                if found := made(file, "python", name, source, after.replace(*STAND_IN)):
                    yield found
