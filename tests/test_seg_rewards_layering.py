"""seg_rewards has no import cycle and imports nothing above it (issue 11, the re-cut).

Two checks: every module imports on its own in a fresh interpreter without pulling in
gymnasium, torch or elf; and the graph of imports between the package's modules, function-level
imports included (they hid the old compose <-> priors cycle), is acyclic. The second catches
what the first cannot: a fresh ``import seg_rewards.x`` always runs the package ``__init__``
first, which imports the modules in one fixed order.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "rewards" / "seg_rewards"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone_in_a_fresh_interpreter(module):
    code = (
        "import sys\n"
        f"import seg_rewards.{module}\n"
        "upper = [m for m in ('gymnasium', 'gym_superpixel_seg', 'torch', 'elf', 'stateless_sac')"
        " if m in sys.modules]\n"
        "assert not upper, upper\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PACKAGE.parent,
        env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "partially initialized" not in done.stderr


def _package_imports(path: pathlib.Path) -> set[str]:
    """Modules of seg_rewards that ``path`` imports anywhere (module or function level)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path.name}: use absolute imports (seg_rewards.x)")
            parts = node.module.split(".")
            if parts[0] != "seg_rewards":
                continue
            if len(parts) == 1:  # from seg_rewards import a, b: modules or package names
                found.update(alias.name for alias in node.names)
                found.add("__init__")
            else:
                found.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "seg_rewards":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


def test_the_import_graph_between_modules_is_acyclic():
    graph = {m: _package_imports(PACKAGE / f"{m}.py") for m in MODULES}
    for module, imported in graph.items():
        assert "__init__" not in imported, f"{module} imports the package itself (a cycle)"
        assert module not in imported
    # Kahn's algorithm: repeatedly drop modules whose package imports are all dropped.
    remaining = {m: {d for d in deps if d in graph} for m, deps in graph.items()}
    while remaining:
        leaves = [m for m, deps in remaining.items() if not deps]
        assert leaves, f"import cycle among {sorted(remaining)}: {remaining}"
        for leaf in leaves:
            del remaining[leaf]
        for deps in remaining.values():
            deps.difference_update(leaves)


def test_the_checker_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from seg_rewards.priors import Prior\n    return Prior\n")
    assert _package_imports(module) == {"priors"}


def test_every_public_name_is_importable_from_the_package():
    import seg_rewards

    for name in seg_rewards.__all__:
        assert getattr(seg_rewards, name) is not None, name
    assert not hasattr(seg_rewards, "compose")
