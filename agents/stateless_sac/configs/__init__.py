"""Packaged training configs (JSON), used by ``python -m stateless_sac.train --config NAME``."""
