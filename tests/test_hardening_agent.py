"""Agent hardening (issue 11): SB3 evaluation helpers, worker errors, load/predict errors,
checkpoints and resume, the U-Net's optimizer."""

from __future__ import annotations

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
