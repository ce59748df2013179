"""Drop the databases of reliability runs that are no longer running.

Names are `portal_rel_<pid>_...`: a database whose process is gone was left by a run
that was killed; one whose process still runs belongs to a run in progress (maybe
another checkout's) and is left alone. `make reliability` calls this at the end.
"""

from __future__ import annotations

import os
import re

from tests.reliability import env

NAME = re.compile(r"^portal_rel_(\d+)_")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> None:
    names = [row[0] for row in env.pg_exec(
        "SELECT datname FROM pg_database WHERE datname LIKE 'portal\\_rel\\_%'")]
    for name in names:
        match = NAME.match(name)
        if match and not _alive(int(match.group(1))):
            env.drop_pg_database(name)
            print(f"dropped {name} (left by a run that is gone)")


if __name__ == "__main__":
    main()
