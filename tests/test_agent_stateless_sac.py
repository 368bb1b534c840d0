"""Tests of the stateless_sac agent package (tiny Circles configs, CPU)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")
pytest.importorskip("stable_baselines3")

import gymnasium as gym  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402

import gym_superpixel_seg  # noqa: E402, F401
from stateless_sac import GraphVecEnv, StatelessSAC, make_graph_vec_env  # noqa: E402
from stateless_sac.data import collate, obs_to_data  # noqa: E402
from stateless_sac.policies import squashed_log_prob  # noqa: E402

ENV_ID = "SuperpixelSeg-Circles-v0"
SMALL = {"n_disks": 3, "image_size": 64, "subgraph_sizes": (6, 12), "compute_metrics": False}
FAST = {"learning_starts": 20, "batch_size": 2, "policy_kwargs": {"hidden_dim": 16}}


def small_env(**kwargs):
    return gym.make(ENV_ID, **{**SMALL, **kwargs})


def weights(model: StatelessSAC) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.policy.state_dict().items()}


class CountSteps(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def _on_step(self) -> bool:
        self.calls += 1
        return True


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[StatelessSAC, pathlib.Path]:
    log_dir = tmp_path_factory.mktemp("tb")
    model = StatelessSAC("GNNPolicy", small_env(), seed=0, tensorboard_log=str(log_dir), **FAST)
    callback = CountSteps()
    model.learn(200, callback=callback, progress_bar=True, tb_log_name="test", log_interval=50)
    assert callback.calls == 200
    return model, log_dir


def test_learn_few_hundred_steps_logs_and_updates(trained) -> None:
    model, log_dir = trained
    assert model.num_timesteps == 200
    assert model.replay_buffer.size() == 200
    # one update per env step once more than learning_starts steps are stored
    assert model._n_updates == 200 - FAST["learning_starts"] - 1
    assert list(log_dir.rglob("events.out.tfevents*")), "no tensorboard event file"
    assert model.log_ent_coef is not None and torch.isfinite(model.log_ent_coef).all()


def test_predict_one_weight_per_edge_on_other_env_instance(trained) -> None:
    model, _ = trained
    other = small_env(image_size=80)  # a different env instance and graph size
    obs, info = other.reset(seed=123)
    action, state = model.predict(obs, deterministic=True)
    assert state is None
    assert action.shape == (info["n_edges"],) and action.dtype == np.float32
    assert np.all((action >= 0) & (action <= 1))
    other.step(action)
    obs2, _ = other.reset(seed=124)
    batch_actions, _ = model.predict([obs, obs2], deterministic=True)
    np.testing.assert_allclose(batch_actions[0], action, atol=1e-6)
    assert len(batch_actions[1]) == len(obs2["graph"].edge_links)


def test_save_load_identical_deterministic_predictions(trained, tmp_path) -> None:
    model, _ = trained
    obs, _ = small_env().reset(seed=7)
    before, _ = model.predict(obs, deterministic=True)
    model.save(tmp_path / "agent.zip")
    loaded = StatelessSAC.load(tmp_path / "agent.zip", env=small_env())
    after, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(before, after)
    assert loaded.num_timesteps == model.num_timesteps
    loaded_no_env = StatelessSAC.load(tmp_path / "agent.zip")
    np.testing.assert_array_equal(loaded_no_env.predict(obs, deterministic=True)[0], before)


def test_resume_continues_step_count_and_buffer(tmp_path) -> None:
    model = StatelessSAC("GNNPolicy", small_env(), seed=1, **FAST)
    model.learn(40)
    model.save(tmp_path / "ckpt.zip")
    model.save_replay_buffer(tmp_path / "buffer.pkl")
    resumed = StatelessSAC.load(tmp_path / "ckpt.zip", env=small_env())
    resumed.load_replay_buffer(tmp_path / "buffer.pkl")
    assert resumed.num_timesteps == 40 and resumed.replay_buffer.size() == 40
    assert resumed._n_updates == model._n_updates
    resumed.learn(20, reset_num_timesteps=False)
    assert resumed.num_timesteps == 60
    assert resumed.replay_buffer.size() == 60
    assert resumed._n_updates == model._n_updates + 20


def test_same_seed_same_weights() -> None:
    results = []
    for _ in range(2):
        model = StatelessSAC("GNNPolicy", small_env(), seed=3, **FAST)
        model.learn(50)
        results.append(weights(model))
    for key in results[0]:
        assert torch.equal(results[0][key], results[1][key]), key
    other = StatelessSAC("GNNPolicy", small_env(), seed=4, **FAST)
    other.learn(50)
    assert any(not torch.equal(results[0][k], v) for k, v in weights(other).items())


def test_corrupt_or_incompatible_checkpoint_clear_error(trained, tmp_path) -> None:
    model, _ = trained
    path = tmp_path / "agent.zip"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "truncated.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a valid StatelessSAC checkpoint"):
        StatelessSAC.load(tmp_path / "truncated.zip")
    (tmp_path / "garbage.zip").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="checkpoint"):
        StatelessSAC.load(tmp_path / "garbage.zip")
    with pytest.raises(ValueError, match="(?i)observation spaces do not match"):
        StatelessSAC.load(path, env=small_env(subgraph_sizes=(6, 32)))
    with pytest.raises(ValueError, match="(?i)spaces do not match"):
        StatelessSAC.load(path, env=small_env(max_edges=1000))
    with pytest.raises(FileNotFoundError):
        StatelessSAC.load(tmp_path / "missing.zip")


def test_critic_invariant_to_edge_order_in_subgraph(trained) -> None:
    model, _ = trained
    policy = model.policy
    obs, _ = small_env().reset(seed=11)
    data = obs_to_data(obs)
    batch = collate([data])
    action = torch.rand(batch.edge_index.shape[1], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        q = policy.q_values(batch, batch.x, action)
        for k in policy.subgraph_sizes:
            key = f"sg_{k}"
            batch[key] = batch[key][:, torch.randperm(k)]
        q_perm = policy.q_values(batch, batch.x, action)
    for a, b in zip(q, q_perm, strict=True):
        for k in a:
            torch.testing.assert_close(a[k], b[k])


def test_squashed_log_prob_matches_change_of_variables() -> None:
    mean, log_std = torch.tensor([0.3, -1.0]), torch.tensor([-0.5, 0.2])
    u = torch.tensor([0.1, 2.0])
    a = torch.sigmoid(u)
    expected = torch.distributions.Normal(mean, log_std.exp()).log_prob(u) - torch.log(a * (1 - a))
    torch.testing.assert_close(squashed_log_prob(u, mean, log_std), expected)


def test_subprocess_vec_env_matches_in_process() -> None:
    kwargs = dict(SMALL)
    sub = make_graph_vec_env(ENV_ID, 2, kwargs, subprocess=True)
    local = make_graph_vec_env(ENV_ID, 2, kwargs, subprocess=False)
    try:
        for venv in (sub, local):
            venv.seed(5)
        obs_a, obs_b = sub.reset(), local.reset()
        for a, b in zip(obs_a, obs_b, strict=True):
            np.testing.assert_array_equal(a["graph"].nodes, b["graph"].nodes)
        actions = [np.full(len(o["graph"].edge_links), 0.5, np.float32) for o in obs_a]
        new_a, rew_a, done_a, info_a = sub.step(actions)
        new_b, rew_b, _, info_b = local.step(actions)
        np.testing.assert_allclose(rew_a, rew_b)
        assert done_a.all() and "subgraph_rewards" in info_a[0] and "episode" in info_a[0]
        assert sub.get_attr("max_edges") == [4096, 4096]
    finally:
        sub.close()
        local.close()
    assert isinstance(sub, GraphVecEnv)


def test_learn_with_subprocess_envs_and_string_env() -> None:
    model = StatelessSAC(
        "GNNPolicy", ENV_ID, n_envs=2, env_kwargs=SMALL, subprocess=True, seed=0, **FAST
    )
    try:
        model.learn(40)
        assert model.num_timesteps == 40 and model.replay_buffer.size() == 40
    finally:
        model.env.close()


def test_train_cli_checkpoints_and_resume(tmp_path) -> None:
    from stateless_sac import train

    out = tmp_path / "run"
    common = [
        "--out", str(out), "--env-kwargs", json.dumps({"n_disks": 3, "image_size": 64}),
        "--subgraph-sizes", "6", "12", "--learning-starts", "10", "--hidden-dim", "16",
        "--checkpoint-every", "20", "--eval-every", "20", "--eval-seeds", "2",
        "--subprocess", "false",
    ]  # fmt: skip
    summary = train.main([*common, "--total-steps", "40", "--final-eval-seeds", "2"])
    from stateless_sac.checkpoints import has_checkpoint

    assert has_checkpoint(out)
    assert summary["throughput"]["env_steps"] == 40
    assert "stateless SAC" in summary["metrics"] and "sp-gt (bound)" in summary["metrics"]
    assert "| method |" in (out / "metrics.md").read_text()
    assert (out / "curve.csv").read_text().count("\n") >= 2
    summary = train.main([*common, "--total-steps", "60", "--final-eval-seeds", "0", "--resume"])
    assert summary["throughput"]["env_steps"] == 60


def test_method2_pixel_features_and_method1_unet(tmp_path) -> None:
    from stateless_sac.features import pixel_feature_env_kwargs, pretrain_unet, save_unet

    net = pretrain_unet(env_kwargs={"n_disks": 3, "image_size": 64}, steps=3, n_images=4,
                        batch_size=2, verbose=False)  # fmt: skip
    save_unet(net, tmp_path / "unet.pt")
    env = small_env(**pixel_feature_env_kwargs(tmp_path / "unet.pt"))
    obs, _ = env.reset(seed=0)
    assert obs["graph"].nodes.shape[1] == 7 + 8
    model = StatelessSAC("GNNPolicy", env, seed=0, **FAST)
    model.learn(25)
    # Method 1: the U-Net is part of the policy, trained through the actor/critic losses.
    m1 = StatelessSAC(
        "GNNPolicy", small_env(), seed=0, learning_starts=5, batch_size=2,
        policy_kwargs={"hidden_dim": 16, "pixel_encoder": {"out_channels": 4, "base_channels": 4}},
    )  # fmt: skip
    before = {k: v.clone() for k, v in m1.policy.unet.state_dict().items()}
    m1.learn(10)
    after = m1.policy.unet.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    action, _ = m1.predict(obs_without_pixel_features(), deterministic=True)
    assert np.all(np.isfinite(action))
    with pytest.raises(ValueError, match="U-Net feature checkpoint"):
        pixel_feature_env_kwargs(_bad_file(tmp_path))


def obs_without_pixel_features():
    return small_env().reset(seed=2)[0]


def _bad_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"garbage")
    return path


def test_pretrained_circles_agent_loads_and_predicts() -> None:
    import stateless_sac

    try:
        model = stateless_sac.pretrained("circles")
    except FileNotFoundError:
        pytest.skip("no shipped checkpoint")
    from stateless_sac.pretrained import checkpoint_path, env_config

    assert checkpoint_path("circles").stat().st_size <= 10 * 2**20
    cfg = env_config("circles")
    env = gym.make(cfg.get("env_id", ENV_ID), **cfg.get("env_kwargs", {}))
    obs, info = env.reset(seed=100_000)
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (info["n_edges"],)
    with pytest.raises(ValueError, match="unknown pretrained agent"):
        stateless_sac.pretrained("nope")
