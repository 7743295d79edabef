"""README.md says what the code is: its table of modules names every module of `rlgen/` and no
other, and its seam examples (a learner, a world, a behaviour policy) are the files
`tests/test_plugins.py` runs, verbatim, so neither can drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + len(title))
    return README[start : end if end != -1 else None]


def test_the_module_table_names_every_module_and_no_other():
    listed = set()
    for row in _section("### The modules of `rlgen/`").splitlines():
        found = re.match(r"\| (`(\w+)/`|top level) \|(.*)\|$", row)
        if found:
            folder = ROOT / "rlgen" / (found.group(2) or "")
            listed |= {folder / name for name in re.findall(r"`(\w+\.py)`", found.group(3))}
    modules = {p for p in (ROOT / "rlgen").rglob("*.py") if p.name != "__init__.py"}
    assert not modules - listed, f"modules README.md does not list: {sorted(str(p.relative_to(ROOT)) for p in modules - listed)}"
    assert not listed - modules, f"README.md lists modules that do not exist: {sorted(str(p.relative_to(ROOT)) for p in listed - modules)}"


def test_the_seam_examples_are_the_tested_files_verbatim():
    """A block headed `# tests/FILE.py` is that whole file; one headed `# from tests/FILE.py ...`
    is a run of its whole lines."""
    quoted = []
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        head, _, body = block.partition("\n")
        whole = re.fullmatch(r"# (tests/\w+\.py)", head)
        part = re.match(r"# from (tests/\w+\.py)\b", head)
        if whole:
            assert body == (ROOT / whole.group(1)).read_text(), f"README's {whole.group(1)} differs from the file"
            quoted.append(whole.group(1))
        elif part:
            text = (ROOT / part.group(1)).read_text()
            assert ("\n" + text).find("\n" + body) != -1, f"README's excerpt of {part.group(1)} is not in the file:\n{body}"
            quoted.append(part.group(1))
    # the learner; the world and its behaviour policy
    assert sorted(quoted) == ["tests/corridor_world.py", "tests/corridor_world.py", "tests/table_learner.py"], quoted
    plugins = (ROOT / "tests" / "test_plugins.py").read_text()
    assert '"imports": ["corridor_world", "table_learner"]' in plugins and '{"algo": "table"}' in plugins
