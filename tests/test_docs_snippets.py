"""Every fenced command and Python snippet of README.md and docs/ runs, so none of them rots.

What runs: fenced blocks tagged ``python``, ``bash``, ``sh``, ``shell`` or ``console`` (for
``console`` only the lines starting with ``$ ``). Untagged blocks are diagrams; one that starts
with a command (``python ...``, ``pip ...``, ``superpixel-seg ...``) fails the test: tag it.

How: one fresh Python process per page, started in an empty temporary folder, runs the page's
blocks in document order. Python blocks share one namespace (a block may use the names of the
blocks above it on the same page); shell blocks run in ``bash -euo pipefail`` in the same
folder, with this interpreter's ``bin/`` first on ``PATH`` (``python``, ``superpixel-seg``)
and the checkout's packages on ``PYTHONPATH``. Lines ``--8<-- "path"`` or
``--8<-- "path:section"`` (pymdownx.snippets, as the docs site renders them) are replaced by
the file, or by the lines between ``# --8<-- [start:section]`` and ``# --8<-- [end:section]``.

Markers: HTML comments (invisible on the site) on the lines right above a fence, arguments
quoted as in a shell ('...' or "...")::

    <!-- docs-test: skip REASON -->                  not run; listed as a skip with REASON
    <!-- docs-test: replace "OLD" "NEW" -->          run with OLD replaced by NEW (a tiny budget:
                                                     "--minutes 30" -> "--steps 20"); OLD must
                                                     occur in the block
    <!-- docs-test: env NAME=VALUE -->               environment variable for this block
    <!-- docs-test: needs-data NAME -->              skip the block when ../shared/data/NAME is absent

Environment of every block: ``DOCS_REPO`` (the checkout), ``SHARED_DATA``
(``DOCS_REPO/../shared/data``), ``SAMPLE_NUCLEI`` and ``SAMPLE_MEMBRANES`` (the bundled sample
folders, each with ``images/`` and ``labels/``), so a replace can point a placeholder folder at
real images: ``<!-- docs-test: replace "my_nuclei/" "$SAMPLE_NUCLEI/images/" -->``.

Blocks run with one torch/OpenMP thread and matplotlib's Agg backend. The tutorial page must
write exactly the ``tutorial_*.png`` figures committed under ``docs/figures``. Run one page:
``pytest tests/test_docs_snippets.py -k biologists``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RUN_LANGUAGES = {
    "python": "python",
    "bash": "bash",
    "sh": "bash",
    "shell": "bash",
    "console": "bash",
}
COMMAND_START = re.compile(r"^\s*(python3?|pip|superpixel-seg|bash|tensorboard|napari|ray)\s")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")
SNIPPET = re.compile(r'^(?P<indent>\s*)--8<--\s+"(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"\s*$')
# Whole pages may take minutes on a loaded 2-core machine (agent fitting with a tiny budget).
PAGE_TIMEOUT_S = 600


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    language: str  # "python" or "bash"
    source: str
    skip: str | None = None
    replacements: list[tuple[str, str]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    needs_data: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def code(self, env: dict[str, str]) -> str:
        """The source to run; in Python blocks ``$NAME`` in a replacement is expanded from env."""
        source = self.source
        for old, new in self.replacements:
            if self.language == "python":
                new = re.sub(r"\$(\w+)", lambda m: env.get(m[1], m[0]), new)
            source = source.replace(old, new)
        return source


def markdown_pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def expand_snippets(source: str, where: str, root: Path) -> str:
    """Replace pymdownx.snippets lines by the file (or section) they name, as the site does."""
    out = []
    for line in source.splitlines():
        match = SNIPPET.match(line)
        if match is None:
            out.append(line)
            continue
        path = root / match["path"]
        if not path.is_file():
            raise ValueError(f"{where}: snippet file {match['path']!r} does not exist")
        lines = path.read_text().splitlines()
        section = match["section"]
        if section is not None:
            start = [i for i, s in enumerate(lines) if s.strip() == f"# --8<-- [start:{section}]"]
            end = [i for i, s in enumerate(lines) if s.strip() == f"# --8<-- [end:{section}]"]
            if len(start) != 1 or len(end) != 1 or end[0] < start[0]:
                raise ValueError(f"{where}: no single section {section!r} in {match['path']}")
            lines = lines[start[0] + 1 : end[0]]
        # Section markers of other sections inside the included range are not code.
        lines = [s for s in lines if not re.match(r"^\s*# --8<-- \[(start|end):", s)]
        out.extend(match["indent"] + s for s in lines)
    return "\n".join(out) + "\n"


def parse_marker(body: str, block_where: str) -> tuple[str, list[str]]:
    words = shlex.split(body)
    if not words:
        raise ValueError(f"{block_where}: empty docs-test marker")
    kind, args = words[0], words[1:]
    if kind == "skip":
        if not args:
            raise ValueError(f"{block_where}: 'docs-test: skip' needs a reason")
        return kind, [" ".join(args)]
    if kind == "replace" and len(args) == 2:
        return kind, args
    if kind == "env" and len(args) == 1 and "=" in args[0]:
        return kind, args
    if kind == "needs-data" and len(args) == 1:
        return kind, args
    raise ValueError(f"{block_where}: unknown or malformed docs-test marker {body!r}")


def parse_page(path: Path, root: Path = REPO) -> list[Block]:
    """The runnable blocks of a markdown page, with their markers read (ValueError on misuse)."""
    page = str(path.relative_to(root))
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    pending: list[tuple[int, str]] = []  # markers waiting for their fence
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        if marker is not None:
            pending.append((i + 1, marker["body"]))
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if fence is None:
            if pending and lines[i].strip():
                raise ValueError(
                    f"{page}:{pending[0][0]}: docs-test marker not followed by a fence"
                )
            i += 1
            continue
        closing, indent = fence["fence"], len(fence["indent"])
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(closing):
            end += 1
        body = "\n".join(s[indent:] for s in lines[i + 1 : end]) + "\n"
        language = fence["lang"].lower()
        where = f"{page}:{i + 1}"
        if language in RUN_LANGUAGES:
            if language == "console":
                body = "\n".join(s[2:] for s in body.splitlines() if s.startswith("$ ")) + "\n"
            block = Block(page, i + 1, RUN_LANGUAGES[language], expand_snippets(body, where, root))
            for _, marker_body in pending:
                kind, args = parse_marker(marker_body, where)
                if kind == "skip":
                    block.skip = args[0]
                elif kind == "replace":
                    old, new = args
                    if old not in block.source:
                        raise ValueError(f"{where}: replace marker: {old!r} is not in the block")
                    block.replacements.append((old, new))
                elif kind == "env":
                    name, value = args[0].split("=", 1)
                    block.env[name] = value
                else:
                    block.needs_data.append(args[0])
            blocks.append(block)
        else:
            if pending:
                raise ValueError(f"{where}: docs-test marker on a block of language {language!r}")
            first = next((s for s in body.splitlines() if s.strip()), "")
            if COMMAND_START.match(first):
                raise ValueError(
                    f"{where}: an untagged block starting with a command ({first.strip()!r}): "
                    "tag it ```bash so that it is tested (or mark it skip with a reason)"
                )
        pending = []
        i = end + 1
    if pending:
        raise ValueError(f"{page}:{pending[0][0]}: docs-test marker not followed by a fence")
    return blocks


def page_env() -> dict[str, str]:
    from gym_superpixel_seg.microscopy_envs import sample_folder

    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    roots = [str(REPO / d) for d in ("envs", "rewards", "agents")] + [str(REPO)]
    env["PYTHONPATH"] = os.pathsep.join(roots + [p for p in [env.get("PYTHONPATH")] if p])
    env.update(
        DOCS_REPO=str(REPO),
        SHARED_DATA=str(SHARED_DATA),
        SAMPLE_NUCLEI=str(sample_folder("nuclei")),
        SAMPLE_MEMBRANES=str(sample_folder("membranes")),
        MPLBACKEND="Agg",
        # One torch thread and no progress bars: the CI machine has two cores.
        OMP_NUM_THREADS="1",
        TQDM_DISABLE="1",
    )
    return env


def run_blocks(blocks_json: str) -> None:
    """The driver: run the blocks of one page in order (this file run as a script)."""
    blocks = json.loads(Path(blocks_json).read_text())
    sys.path[0] = os.getcwd()  # as for a user's script: its folder, not tests/
    namespace: dict = {"__name__": "__main__"}
    for block in blocks:
        print(f"--- docs-test: {block['where']} ({block['language']})", flush=True)
        start = time.perf_counter()
        env_before = {name: os.environ.get(name) for name in block["env"]}
        os.environ.update({k: os.path.expandvars(v) for k, v in block["env"].items()})
        try:
            if block["language"] == "python":
                # Blank lines above the block's first line: tracebacks give the page's line numbers.
                code = compile("\n" * block["line"] + block["source"], block["page"], "exec")
                exec(code, namespace)
            else:
                subprocess.run(["bash", "-euo", "pipefail", "-c", block["source"]], check=True)
        finally:
            print(
                f"--- docs-test: {block['where']}: {time.perf_counter() - start:.1f} s", flush=True
            )
            for name, value in env_before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def runnable_pages() -> list[Path]:
    return [p for p in markdown_pages() if any(b.skip is None for b in parse_page(p))]


def skipped_blocks() -> list[Block]:
    return [b for p in markdown_pages() for b in parse_page(p) if b.skip is not None]


def run_page(path: Path, tmp_path: Path, root: Path = REPO) -> Path:
    """Run the page's blocks in a fresh process; returns the folder they ran in."""
    blocks = [b for b in parse_page(path, root) if b.skip is None]
    without_data = [b for b in blocks if any(not (SHARED_DATA / n).exists() for n in b.needs_data)]
    if without_data:
        blocks = [b for b in blocks if b not in without_data]
        names = ", ".join(f"{b.where} ({' '.join(b.needs_data)})" for b in without_data)
        if not blocks:
            pytest.skip(f"no ../shared/data for {names}")
        warnings.warn(f"not run, no ../shared/data: {names}", stacklevel=1)
    env = page_env()
    payload = [
        {
            "where": b.where,
            "page": b.page,
            "line": b.line,
            "language": b.language,
            "source": b.code(env),
            "env": b.env,
        }
        for b in blocks
    ]
    work = tmp_path / "work"
    work.mkdir(parents=True)
    (work / "blocks.json").write_text(json.dumps(payload))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(work / "blocks.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT_S,
    )
    assert result.returncode == 0, (
        f"a snippet of {path.relative_to(root)} failed:\n{result.stdout[-6000:]}\n"
        f"{result.stderr[-6000:]}"
    )
    return work


def test_markers_parse_and_apply(tmp_path):
    """Markers attach to the next fence; console blocks keep their commands; includes expand."""
    folder = tmp_path
    page = Path(folder) / "page.md"
    page.write_text(
        '<!-- docs-test: replace "--minutes 30" "--steps 2" -->\n'
        "<!-- docs-test: env A=1 -->\n"
        "```bash\nsuperpixel-seg fit --minutes 30\n```\n\n"
        "<!-- docs-test: skip installs the package -->\n```sh\npip install .\n```\n"
        "```console\n$ echo hi\nhi\n```\n"
        "```\nimage -> graph\n```\n"
    )
    blocks = parse_page(page, Path(folder))
    assert [b.code({}) for b in blocks] == [
        "superpixel-seg fit --steps 2\n",
        "pip install .\n",
        "echo hi\n",
    ]
    assert blocks[0].env == {"A": "1"} and blocks[0].skip is None
    assert blocks[1].skip == "installs the package"
    # Includes as pymdownx.snippets renders them: a whole file or one section of it.
    (folder / "code.py").write_text("a = 1\n# --8<-- [start:two]\nb = 2\n# --8<-- [end:two]\n")
    page.write_text('```python\n--8<-- "code.py:two"\n```\n```python\n--8<-- "code.py"\n```\n')
    assert [b.source for b in parse_page(page, folder)] == ["b = 2\n", "a = 1\nb = 2\n"]


@pytest.mark.parametrize(
    "text, message",
    [
        ('<!-- docs-test: replace "--hours 3" "x" -->\n```bash\nls\n```\n', "not in the block"),
        ("```\npython -m stateless_sac.train --out runs\n```\n", "untagged block starting with a"),
        ("<!-- docs-test: skip -->\n```bash\nls\n```\n", "needs a reason"),
        ("<!-- docs-test: skip why -->\n\ntext\n```bash\nls\n```\n", "not followed by a fence"),
        ("<!-- docs-test: timeout 3 -->\n```bash\nls\n```\n", "unknown or malformed"),
        ('```python\n--8<-- "code.py:three"\n```\n', "no single section 'three'"),
        ('```python\n--8<-- "nowhere.py"\n```\n', "does not exist"),
    ],
)
def test_bad_pages_are_errors(tmp_path, text, message):
    """A marker that cannot apply, or a command left untested, is an error naming the line."""
    (tmp_path / "code.py").write_text("# --8<-- [start:two]\nb = 2\n# --8<-- [end:two]\n")
    page = tmp_path / "page.md"
    page.write_text(text)
    with pytest.raises(ValueError, match=message):
        parse_page(page, tmp_path)


def test_every_page_parses():
    """Every marker of every page is well-formed and every snippet include resolves."""
    pages = markdown_pages()
    assert REPO / "docs" / "tutorial.md" in pages
    blocks = [b for p in pages for b in parse_page(p)]
    assert sum(b.skip is None for b in blocks) > 10


def test_blocks_share_a_page_and_a_failure_fails(tmp_path):
    """Blocks of a page run in order in one namespace and folder; a failing block fails."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nfrom pathlib import Path\n\nPath('made.txt').write_text('1')\nx = 2\n```\n"
        "<!-- docs-test: replace 'HERE' '$SAMPLE_NUCLEI' -->\n"
        "```bash\ntest -f made.txt && test -d HERE/images && python -c 'import seg_rewards'\n```\n"
        '```python\nassert x == 2, "namespace lost"\n```\n'
    )
    run_page(page, tmp_path / "ok", root=tmp_path)
    page.write_text(
        "```python\nx = 1\n```\n```bash\necho about to fail\nfalse\necho not here\n```\n"
    )
    with pytest.raises(AssertionError, match="a snippet of page.md failed"):
        run_page(page, tmp_path / "bad", root=tmp_path)


def test_needs_data_skips_without_the_folder(tmp_path):
    """A block marked needs-data is not run when ../shared/data lacks that folder."""
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-test: needs-data no-such-folder-xyz -->\n```bash\nfalse\n```\n")
    (block,) = parse_page(page, tmp_path)
    assert block.needs_data == ["no-such-folder-xyz"] and block.skip is None
    with pytest.raises(pytest.skip.Exception, match="no-such-folder-xyz"):
        run_page(page, tmp_path, root=tmp_path)


@pytest.mark.parametrize("block", skipped_blocks(), ids=lambda b: b.where)
def test_skipped_block(block):
    """Lists each block that CI does not run, with its reason (pytest -ra prints them)."""
    pytest.skip(f"{block.where}: {block.skip}")


@pytest.mark.slow
@pytest.mark.parametrize("page", runnable_pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_page_snippets_run(page, tmp_path):
    work = run_page(page, tmp_path)
    if page.name == "tutorial.md":
        # The committed figures are the ones the tutorial writes, and the page shows each.
        written = sorted(p.name for p in work.glob("tutorial_*.png"))
        committed = sorted(p.name for p in (REPO / "docs" / "figures").glob("tutorial_*.png"))
        assert written and written == committed
        assert all(f"figures/{name}" in page.read_text() for name in committed)


if __name__ == "__main__":
    run_blocks(sys.argv[1])
