"""The README's generated parts, the course map and the diagram, from labs.toml."""

import re

from checker.command.course import Lab


def course_map(labs: list[Lab]) -> str:
    rows = ["| lab | folder | what you learn | time |", "|---|---|---|---|"]
    for lab in labs:
        if lab.ready:
            rows.append(f"| {lab.code} | [labs/{lab.slug}](labs/{lab.slug}/README.md) | "
                        f"{lab.summary} | {lab.minutes} min |")  # fmt: skip
    return "\n".join(rows)


def diagram(labs: list[Lab]) -> str:
    shown = [lab for lab in labs if lab.ready and lab.tree]
    numbers = {lab.number for lab in shown}

    def node(lab: Lab) -> str:
        return f'L{lab.code}["Lab {lab.code}<br/>{lab.short}"]'

    lines = ["```mermaid", "flowchart LR"]
    lines += [f"    {node(lab)}" for lab in shown if "cluster" not in lab.needs]
    in_cluster = [lab for lab in shown if "cluster" in lab.needs]
    if in_cluster:
        lines.append("    subgraph cluster [Kubernetes cluster]")
        lines += [f"        {node(lab)}" for lab in in_cluster]
        lines.append("    end")
    edges = [lab for lab in shown if lab.builds_on in numbers]
    lines += [f"    L{lab.builds_on:02d} --> L{lab.code}" for lab in edges]
    lines.append("```")
    return "\n".join(lines)


def generated_sections(labs: list[Lab]) -> dict[str, str]:
    return {"course-map": course_map(labs), "diagram": diagram(labs)}


def render_readme(text: str, labs: list[Lab]) -> tuple[str, list[str]]:
    """The README with each generated section between its markers rewritten."""
    problems = []
    for name, body in generated_sections(labs).items():
        start, end = f"<!-- generated: {name} (make labs-sync) -->", f"<!-- end: {name} -->"
        pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), flags=re.S)
        if not pattern.search(text):
            problems.append(f"README.md lacks the markers {start} … {end}")
            continue
        replacement = f"{start}\n{body}\n{end}"
        text = pattern.sub(lambda _, new=replacement: new, text)
    return text, problems
