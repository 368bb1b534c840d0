"""``import stateless_sac`` without torch says which extra to install."""

import subprocess
import sys
import textwrap


def test_import_without_torch_names_the_agents_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # as if torch were not installed
        try:
            import stateless_sac
        except ImportError as error:
            print(error)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="agents"
    ).stdout
    assert "[agents]" in out and "torch" in out
