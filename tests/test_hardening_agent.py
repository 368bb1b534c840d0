"""Agent hardening (issue 11): SB3 evaluation helpers, worker errors, load/predict errors,
checkpoints and resume, the U-Net's optimizer."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")
pytest.importorskip("stable_baselines3")

import gymnasium as gym  # noqa: E402
from stable_baselines3.common.callbacks import EvalCallback  # noqa: E402
from stable_baselines3.common.evaluation import evaluate_policy  # noqa: E402

import gym_superpixel_seg  # noqa: E402, F401
from stateless_sac import StatelessSAC, make_graph_vec_env  # noqa: E402

ENV_ID = "SuperpixelSeg-Circles-v0"
SMALL = {"n_disks": 3, "image_size": 64, "subgraph_sizes": (6, 12), "compute_metrics": False}
FAST = {"learning_starts": 5, "batch_size": 2, "policy_kwargs": {"hidden_dim": 8}}


# ------------------------------------------------------------------ item 3
def test_make_graph_vec_env_defaults_to_in_process():
    venv = make_graph_vec_env(ENV_ID, 2, SMALL)
    try:
        assert venv.n_workers == 0 and venv.processes == [] and len(venv.envs) == 2
    finally:
        venv.close()


def test_evaluate_policy_and_eval_callback_with_the_documented_env(tmp_path):
    model = StatelessSAC("GNNPolicy", gym.make(ENV_ID, **SMALL), seed=0, **FAST)
    eval_env = make_graph_vec_env(ENV_ID, 1, SMALL)
    mean_reward, std_reward = evaluate_policy(model, eval_env, n_eval_episodes=3, warn=False)
    assert 0.0 <= mean_reward <= 1.0 and std_reward >= 0.0
    callback = EvalCallback(
        eval_env, eval_freq=5, n_eval_episodes=2, log_path=str(tmp_path), warn=False
    )
    model.learn(10, callback=callback)
    evaluations = np.load(tmp_path / "evaluations.npz")
    assert evaluations["timesteps"].tolist() == [5, 10]
    assert evaluations["results"].shape == (2, 2)
    eval_env.close()


# ------------------------------------------------------------------ item 9
def test_worker_exception_is_reraised_in_the_learner_and_workers_go_on():
    from stateless_sac.vec_env import WorkerTraceback

    venv = make_graph_vec_env(ENV_ID, 2, SMALL, subprocess=True, start_method="fork")
    try:
        obs = venv.reset()
        good = [np.full(len(o["graph"].edge_links), 0.5, np.float32) for o in obs]
        bad = [good[0], np.full(3, 0.5, np.float32)]
        with pytest.raises(ValueError, match="action has length 3") as caught:
            venv.step(bad)
        assert isinstance(caught.value.__cause__, WorkerTraceback)
        assert "validate_action" in str(caught.value.__cause__)  # the worker's traceback
        # no broken pipes: the workers answer; env 0 did step (and auto-reset), so reset both
        obs = venv.reset()
        good = [np.full(len(o["graph"].edge_links), 0.5, np.float32) for o in obs]
        _, rewards, dones, _ = venv.step(good)
        assert dones.all() and rewards.shape == (2,)
        with pytest.raises(AttributeError, match="no_such_method"):
            venv.env_method("no_such_method")
    finally:
        venv.close()


def test_worker_construction_error_is_reraised():
    with pytest.raises(ValueError, match="n_disks must be >= 0"):
        make_graph_vec_env(
            ENV_ID, 1, {**SMALL, "n_disks": -1}, subprocess=True, start_method="fork"
        )


# ------------------------------------------------------------------ item 10
@pytest.mark.parametrize("algorithm", ["PPO", "SAC"])
def test_load_of_another_sb3_model_is_a_value_error(tmp_path, algorithm):
    import stable_baselines3

    other = getattr(stable_baselines3, algorithm)("MlpPolicy", "Pendulum-v1", device="cpu")
    other.save(tmp_path / "other.zip")
    with pytest.raises(ValueError, match="not a GNNPolicy"):
        StatelessSAC.load(tmp_path / "other.zip")


def test_predict_on_an_observation_of_another_env_names_the_widths():
    model = StatelessSAC("GNNPolicy", gym.make(ENV_ID, **SMALL), seed=0, **FAST)
    embryo = gym.make("SuperpixelSeg-Embryo-v0", image_size=64, n_cells=6)  # 1 channel: 5 + 0
    obs, _ = embryo.reset(seed=0)
    with pytest.raises(ValueError, match="node feature width 5, this policy expects 7"):
        model.predict(obs)
    good, _ = gym.make(ENV_ID, **SMALL).reset(seed=0)
    with pytest.raises(ValueError, match="node feature width"):
        model.predict([good, obs])
    action, _ = model.predict(good)
    assert action.shape == (len(good["graph"].edge_links),)


# ------------------------------------------------------------------ item 13
def test_unet_parameters_are_in_one_optimizer_only():
    model = StatelessSAC(
        "GNNPolicy",
        gym.make(ENV_ID, **SMALL),
        seed=0,
        learning_starts=3,
        batch_size=1,
        policy_kwargs={"hidden_dim": 8, "pixel_encoder": {"out_channels": 2, "base_channels": 2}},
    )
    policy = model.policy

    def ids(optimizer):
        return {id(p) for group in optimizer.param_groups for p in group["params"]}

    actor, critic = ids(policy.actor_optimizer), ids(policy.critic_optimizer)
    unet = {id(p) for p in policy.unet.parameters()}
    assert not actor & critic
    assert unet <= actor and not unet & critic
    assert ids(policy.actor_optimizer) | critic >= {id(p) for p in policy.critics.parameters()}
    before = [p.clone() for p in policy.unet.parameters()]
    model.learn(5)
    assert any(not torch.equal(b, p) for b, p in zip(before, policy.unet.parameters(), strict=True))
    critic_state = policy.critic_optimizer.state
    assert critic_state and not any(id(p) in unet for p in critic_state)


# ------------------------------------------------------------------ item 11
def _tiny_run(out, *extra):
    return [
        "--out", str(out), "--env-kwargs", '{"n_disks": 3, "image_size": 64}',
        "--subgraph-sizes", "6", "12", "--learning-starts", "10", "--hidden-dim", "8",
        "--batch-size", "2", "--checkpoint-every", "20", "--eval-every", "10",
        "--eval-seeds", "1", "--final-eval-seeds", "0", "--subprocess", "false", *extra,
    ]  # fmt: skip


def _curve(out):
    import csv

    with open(out / "curve.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(f)]


def _final_state(out):
    from stateless_sac.checkpoints import load_checkpoint

    venv = make_graph_vec_env(
        ENV_ID, 1, {"n_disks": 3, "image_size": 64, "subgraph_sizes": (6, 12)}
    )
    model, _ = load_checkpoint(out, venv)
    policy = model.policy
    state = {
        "weights": policy.state_dict(),
        "actor_opt": policy.actor_optimizer.state_dict()["state"],
        "critic_opt": policy.critic_optimizer.state_dict()["state"],
        "log_ent_coef": model.log_ent_coef.detach().clone(),
        "actions": [item["action"] for item in model.replay_buffer.storage if item is not None],
        "n_updates": model._n_updates,
        "obs": model._last_obs[0]["graph"].nodes,
    }
    venv.close()
    return state


def _assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_killed_and_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, monkeypatch):
    from stateless_sac import train

    train.main(_tiny_run(tmp_path / "a", "--total-steps", "40"))

    original = train.RunCallback._on_step

    def crash_at_30(self):
        result = original(self)
        if self.model.num_timesteps == 30:  # after the step-30 evaluation row, before a checkpoint
            raise KeyboardInterrupt("killed")
        return result

    monkeypatch.setattr(train.RunCallback, "_on_step", crash_at_30)
    with pytest.raises(KeyboardInterrupt):
        train.main(_tiny_run(tmp_path / "b", "--total-steps", "40"))
    monkeypatch.setattr(train.RunCallback, "_on_step", original)
    assert [row["env_steps"] for row in _curve(tmp_path / "b")] == ["10", "20", "30"]
    # --out and --resume alone: the run's saved config is used
    summary = train.main(["--out", str(tmp_path / "b"), "--resume", "--final-eval-seeds", "0"])
    assert summary["throughput"]["env_steps"] == 40

    assert _curve(tmp_path / "b") == _curve(tmp_path / "a")  # no duplicate rows, same values
    _assert_same(_final_state(tmp_path / "b"), _final_state(tmp_path / "a"))


def test_a_kill_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    from stateless_sac import checkpoints

    model = StatelessSAC("GNNPolicy", gym.make(ENV_ID, **SMALL), seed=0, **FAST)
    model.learn(6)
    checkpoints.save_checkpoint(model, tmp_path)
    model.learn(4, reset_num_timesteps=False)

    real_replace = checkpoints.os.replace

    def killed_before_pointer(src, dst):
        if str(dst).endswith(checkpoints.POINTER):
            raise KeyboardInterrupt("killed between the folder rename and the pointer")
        return real_replace(src, dst)

    monkeypatch.setattr(checkpoints.os, "replace", killed_before_pointer)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save_checkpoint(model, tmp_path)
    monkeypatch.setattr(checkpoints.os, "replace", real_replace)
    venv = make_graph_vec_env(ENV_ID, 1, SMALL)
    loaded, _ = checkpoints.load_checkpoint(tmp_path, venv)
    assert loaded.num_timesteps == 6 and loaded.replay_buffer.size() == 6
    # model and buffer from different steps are detected
    checkpoints.save_checkpoint(model, tmp_path)
    folder = tmp_path / json.loads((tmp_path / checkpoints.POINTER).read_text())["folder"]
    model.learn(2, reset_num_timesteps=False)
    model.save(folder / "model.zip")
    with pytest.raises(ValueError, match="inconsistent"):
        checkpoints.load_checkpoint(tmp_path, venv)
    venv.close()


def test_resume_refuses_changed_options(tmp_path):
    from stateless_sac import train

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(train.TrainConfig().to_dict()))
    with pytest.raises(ValueError, match=r"learning_rate: 0.001 -> 0.1"):
        train.parse_args(["--out", str(out), "--resume", "--learning-rate", "0.1"])
    cfg, _, resume = train.parse_args(["--out", str(out), "--resume", "--total-steps", "5"])
    assert resume and cfg.total_steps == 5 and cfg.learning_rate == 1e-3


def test_config_keys_and_values_are_checked(tmp_path, capsys):
    from stateless_sac import train

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"total_step": 10}))
    with pytest.raises(ValueError, match="unknown option 'total_step'; did you mean 'total_steps'"):
        train.parse_args(["--out", str(tmp_path), "--config", str(bad)])
    bad.write_text(json.dumps({"unet": "maybe"}))
    with pytest.raises(ValueError, match="'unet' must be bool"):
        train.parse_args(["--out", str(tmp_path), "--config", str(bad)])
    with pytest.raises(SystemExit):
        train.parse_args(["--out", str(tmp_path), "--unet", "maybe"])
    assert "expected true or false, got 'maybe'" in capsys.readouterr().err
    cfg, _, _ = train.parse_args(["--out", str(tmp_path), "--unet", "False"])
    assert cfg.unet is False
    cfg, _, _ = train.parse_args(["--out", str(tmp_path), "--unet", "yes", "--ent-coef", "0.2"])
    assert cfg.unet is True and cfg.ent_coef == 0.2
