"""make watch: re-run a lab's checker on every save, or on Enter where watching fails."""

import subprocess
import sys

from checker.command import ui
from checker.command.course import Lab
from checker.command.folders import resolve_lab_dir


def watch(lab: Lab, given_dir: str | None, manual: bool) -> int:
    lab_dir = resolve_lab_dir(lab, given_dir)
    command = [sys.executable, "-m", "checker", "check", str(lab.number)]
    if given_dir:
        command += ["--lab-dir", given_dir]

    def run() -> None:
        subprocess.run(command)
        ui.say(ui.paint("\nwaiting for a change (Ctrl-C to quit) …", "dim"))

    run()
    try:
        if lab_dir is not None and not manual:
            try:
                from watchfiles import watch as changes

                for _ in changes(lab_dir, debounce=800, rust_timeout=0):
                    run()
            except (OSError, RuntimeError) as exc:
                ui.say(f"file watching failed here ({exc}); switching to manual mode")
        while True:
            input("press Enter to check again (Ctrl-C to quit) ")
            run()
    except (KeyboardInterrupt, EOFError):
        ui.say()
    return 0
