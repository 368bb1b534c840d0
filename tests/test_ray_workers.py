"""Env workers as Ray actors (issue 13): the same transitions and trained weights as worker
processes under a seed, training and resuming with ``--ray-address``, clear errors.

The Ray tests run on a local Ray with 2 CPUs (skipped only when Ray is not installed); the
error tests run first, before that Ray is started, and need no Ray at all."""

from __future__ import annotations

import json
import socket
import sys

import imageio.v3 as iio
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from stateless_sac import StatelessSAC, make_graph_vec_env  # noqa: E402
from stateless_sac import train as train_module  # noqa: E402
from stateless_sac.cli import main as cli_main  # noqa: E402
from stateless_sac.ray_vec_env import _blocks  # noqa: E402

ENV_ID = "SuperpixelSeg-Circles-v0"
SMALL = {"n_disks": 3, "image_size": 64, "subgraph_sizes": (6, 12), "compute_metrics": False}


def _tiny_run(out, *extra):
    return [
        "--out", str(out), "--env-kwargs", '{"n_disks": 3, "image_size": 64}',
        "--subgraph-sizes", "6", "12", "--learning-starts", "4", "--hidden-dim", "8",
        "--batch-size", "2", "--checkpoint-every", "6", "--eval-every", "0",
        "--final-eval-seeds", "0", *extra,
    ]  # fmt: skip


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ errors (no Ray started)
def test_without_ray_the_error_names_the_distributed_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ImportError, match=r"\[distributed\]"):
        make_graph_vec_env(ENV_ID, 1, SMALL, ray_address="local")
    code = cli_main(["train", *_tiny_run(tmp_path / "r", "--ray-address", "local")])
    assert code == 2 and "gym-superpixel-seg[distributed]" in capsys.readouterr().err


def test_an_unreachable_ray_address_is_named(tmp_path, capsys):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # pragma: no cover - an initialised Ray is used whatever the address
        pytest.skip("Ray already initialised in this process")
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(ConnectionError, match=f"Ray cluster at '{address}'"):
        train_module.main(_tiny_run(tmp_path / "a", "--ray-address", address))
    code = cli_main(["train", *_tiny_run(tmp_path / "b", "--ray-address", f"ray://{address}")])
    assert code == 2 and f"'ray://{address}'" in capsys.readouterr().err
    assert not ray.is_initialized()


def test_workers_are_split_into_contiguous_blocks_and_checked():
    assert _blocks(5, 2) == [[0, 1, 2], [3, 4]]
    assert _blocks(3, 3) == [[0], [1], [2]]
    with pytest.raises(ValueError, match="n_workers must be 1..2"):
        make_graph_vec_env(ENV_ID, 2, SMALL, ray_address="local", ray_workers=3)


def test_workers_flag_is_n_envs_and_ray_address_may_change_on_resume(tmp_path):
    cfg, _, _ = train_module.parse_args(["--out", str(tmp_path), "--workers", "3"])
    assert cfg.n_envs == 3 and cfg.ray_address is None
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    cfg, _, resume = train_module.parse_args(
        ["--out", str(tmp_path), "--resume", "--ray-address", "auto"]
    )
    assert resume and cfg.ray_address == "auto" and cfg.n_envs == 3
    with pytest.raises(ValueError, match="n_envs"):
        train_module.parse_args(["--out", str(tmp_path), "--resume", "--workers", "2"])


# ------------------------------------------------------------------ on a local Ray
@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


def _equal_obs(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    np.testing.assert_array_equal(a["graph"].nodes, b["graph"].nodes)
    np.testing.assert_array_equal(a["graph"].edges, b["graph"].edges)
    np.testing.assert_array_equal(a["graph"].edge_links, b["graph"].edge_links)


@pytest.mark.slow
def test_ray_workers_give_the_transitions_and_weights_of_worker_processes(local_ray):
    """2 actors holding 3 envs vs 3 worker processes: same observations, rewards and infos
    step by step, then the same weights after a few training steps on CPU."""
    procs = make_graph_vec_env(ENV_ID, 3, SMALL, subprocess=True)
    actors = make_graph_vec_env(ENV_ID, 3, SMALL, ray_address="local", ray_workers=2)
    try:
        assert len(actors.actors) == 2 and actors.num_envs == 3
        for venv in (procs, actors):
            venv.seed(7)
        obs = procs.reset()
        for a, b in zip(obs, actors.reset(), strict=True):
            _equal_obs(a, b)
            assert b["graph"].nodes.flags.writeable  # ordinary arrays, not object-store views
        rng = np.random.default_rng(0)
        for _ in range(2):
            actions = [rng.random(len(o["graph"].edge_links), dtype=np.float32) for o in obs]
            obs_a, rew_a, done_a, info_a = procs.step(actions)
            obs_b, rew_b, done_b, info_b = actors.step(actions)
            np.testing.assert_array_equal(rew_a, rew_b)
            assert done_b.all() and rew_b.any()
            for a, b in zip(obs_a, obs_b, strict=True):
                _equal_obs(a, b)
            obs = obs_a
            for a, b in zip(info_a, info_b, strict=True):
                np.testing.assert_array_equal(a["subgraph_rewards"], b["subgraph_rewards"])

        fast = {"learning_starts": 4, "batch_size": 2, "policy_kwargs": {"hidden_dim": 8}}
        models = []
        for venv in (procs, actors):  # built and trained one after the other: the seed sets
            model = StatelessSAC("GNNPolicy", venv, seed=3, device="cpu", **fast)  # global RNGs
            models.append(model.learn(12))  # 4 vec steps of 3 envs; updates after 4 steps
        assert models[1]._n_updates == models[0]._n_updates > 0
        weights = [m.policy.state_dict() for m in models]
        assert weights[0].keys() == weights[1].keys()
        for key in weights[0]:
            assert torch.equal(weights[0][key], weights[1][key]), key
    finally:
        procs.close()
        actors.close()
    assert local_ray.is_initialized()  # a Ray this process started before stays up


@pytest.mark.slow
def test_train_with_ray_workers_checkpoints_and_resumes(local_ray, tmp_path):
    out = tmp_path / "run"
    first = train_module.main(
        _tiny_run(out, "--workers", "2", "--ray-address", "local", "--total-steps", "8")
    )
    assert first["throughput"]["env_steps"] == 8
    assert json.loads((out / "config.json").read_text())["ray_address"] == "local"
    resumed = train_module.main(["--out", str(out), "--resume", "--total-steps", "12"])
    assert resumed["throughput"]["env_steps"] == 12 and resumed["throughput"]["updates"] > 0


def test_fit_passes_workers_and_ray_address_to_training(tmp_path):
    from stateless_sac.cli import fit_train_args

    images = tmp_path / "images"
    images.mkdir()
    iio.imwrite(images / "a.png", np.zeros((40, 40), np.uint8))
    argv = fit_train_args(
        str(images), "nuclei", str(tmp_path / "run"), minutes=1, steps=5, seed=0,
        resume=False, workers=2, ray_address="auto",
    )  # fmt: skip
    cfg, _, _ = train_module.parse_args(argv)
    assert cfg.n_envs == 2 and cfg.ray_address == "auto"
    resume = fit_train_args(
        str(images), "nuclei", str(tmp_path / "run"), minutes=1, steps=5, seed=0,
        resume=True, ray_address="ray://head:10001",
    )  # fmt: skip
    assert resume[-2:] == ["--ray-address", "ray://head:10001"] and "--workers" not in resume
    with pytest.raises(ValueError, match="--workers"):
        fit_train_args(str(images), "nuclei", "x", minutes=1, steps=5, seed=0, resume=False,
                       workers=0)  # fmt: skip
