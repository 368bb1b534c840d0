"""The faster learner (issue 13) computes what the straightforward formulation computes.

The message passing with split projections, the stacked critics, the tensor replay buffer and
its collation are checked against plain reference formulations; checkpoints written before the
critics were stacked (the shipped ``circles.zip``) load and act as before.
"""

from __future__ import annotations

import pathlib
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")
pytest.importorskip("stable_baselines3")

import gymnasium as gym  # noqa: E402
from stable_baselines3.common.logger import Logger  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch_geometric.data import Batch  # noqa: E402
from torch_geometric.utils import scatter  # noqa: E402

import gym_superpixel_seg  # noqa: E402, F401
from stateless_sac import GraphVecEnv, StatelessSAC  # noqa: E402
from stateless_sac.buffers import GraphReplayBuffer  # noqa: E402
from stateless_sac.data import collate_tensors, obs_to_data, obs_to_tensors  # noqa: E402
from stateless_sac.policies import (  # noqa: E402
    Critics,
    MeanConv,
    stack_critic_optimizer_state,
    stack_critic_state_dict,
)

ENV_ID = "SuperpixelSeg-Circles-v0"
SMALL = {"n_disks": 3, "image_size": 64, "subgraph_sizes": (6, 12), "compute_metrics": False}
DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def transitions() -> list[tuple[dict, np.ndarray, dict]]:
    env = gym.make(ENV_ID, **SMALL)
    rng = np.random.default_rng(0)
    out = []
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        action = rng.uniform(0, 1, info["n_edges"]).astype(np.float32)
        _, _, _, _, step_info = env.step(action)
        out.append((obs, action, step_info["subgraph_rewards"]))
    return out


def random_graph(n_nodes: int = 12, n_edges: int = 20, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    u = torch.randint(0, n_nodes - 1, (n_edges,), generator=gen)  # node n-1 stays isolated
    v = (u + torch.randint(1, 4, (n_edges,), generator=gen)) % (n_nodes - 1)
    keep = u != v
    edge_index = torch.stack([torch.minimum(u, v), torch.maximum(u, v)])[:, keep]
    x = torch.randn(n_nodes, 5, generator=gen)
    edge_attr = torch.randn(edge_index.shape[1], 3, generator=gen)
    return x, edge_index, edge_attr


def reference_mean_conv(conv: MeanConv, x, edge_index, edge_attr) -> torch.Tensor:
    """The concatenated form: phi([x_i, x_j, e_ij]) for both directions, mean at i, gamma."""
    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    both_attr = torch.cat([edge_attr, edge_attr])
    src, dst = both
    messages = conv.phi(torch.cat([x[dst], x[src], both_attr], dim=-1))
    mean = scatter(messages, dst, dim=0, dim_size=x.shape[0], reduce="mean")
    return conv.gamma(torch.cat([x, mean], dim=-1))


def test_split_message_projection_equals_concatenated_form() -> None:
    from stateless_sac.policies import _Graph

    torch.manual_seed(0)
    x, edge_index, edge_attr = random_graph()
    conv = MeanConv(5, 3, 8)
    graph = _Graph(edge_index, x.shape[0])
    fast = conv(x, graph, conv.edge_term(edge_attr))
    expected = reference_mean_conv(conv, x, edge_index, edge_attr)
    torch.testing.assert_close(fast, expected, atol=1e-6, rtol=1e-5)
    # the isolated node aggregates nothing (mean of no messages = 0, as in PyG)
    alone = conv.gamma(torch.cat([x[-1:], torch.zeros(1, 8)], dim=-1))
    torch.testing.assert_close(fast[-1:], alone)


def test_stacked_critics_equal_separate_critics_and_their_initialisation() -> None:
    args = (6, 3, 16, 2, (2, 3))
    torch.manual_seed(5)
    both = Critics(2, *args)
    torch.manual_seed(5)
    separate = [Critics(1, *args), Critics(1, *args)]  # drawn one after the other
    for c, single in enumerate(separate):
        for name, value in single.state_dict().items():
            torch.testing.assert_close(both.state_dict()[name][c : c + 1], value, rtol=0, atol=0)
    x, edge_index, edge_attr = random_graph(n_nodes=10, n_edges=18, seed=1)
    x = torch.cat([x, x[:, :1]], dim=1)  # 6 node features
    action = torch.rand(edge_index.shape[1])
    subgraphs = {2: torch.tensor([[0, 1], [2, 3], [1, 4]]), 3: torch.tensor([[0, 2, 5]])}
    q = both(x, edge_index, edge_attr, action, subgraphs)
    for c, single in enumerate(separate):
        alone = single(x, edge_index, edge_attr, action, subgraphs)
        for k in subgraphs:
            assert q[k].shape == (2, len(subgraphs[k]))
            torch.testing.assert_close(q[k][c], alone[k][0], atol=1e-6, rtol=1e-5)


def _unstack(state: dict, n: int) -> dict:
    """A stacked state dict in the layout before stacking (``critics.<c>.<name>``)."""
    out = {}
    for key, value in state.items():
        prefix = next((p for p in ("critics.", "critic_targets.") if key.startswith(p)), None)
        if prefix is None:
            out[key] = value
        else:
            for c in range(n):
                out[f"{prefix}{c}.{key[len(prefix) :]}"] = value[c]
    return out


def test_old_checkpoint_layout_loads_weights_and_optimizer_state() -> None:
    env = gym.make(ENV_ID, **SMALL)
    model = StatelessSAC("GNNPolicy", env, seed=0, policy_kwargs={"hidden_dim": 8})
    policy = model.policy
    old_state = _unstack(policy.state_dict(), 2)
    assert stack_critic_state_dict(old_state, ("critics", "critic_targets")).keys() == (
        policy.state_dict().keys()
    )
    other = StatelessSAC("GNNPolicy", env, seed=1, policy_kwargs={"hidden_dim": 8}).policy
    other.load_state_dict(old_state)
    for key, value in policy.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key

    # Adam over per-critic parameters (the old layout) vs Adam over the stacked ones
    stacked = list(policy.critics.parameters())
    per_critic = [torch.nn.Parameter(p.detach()[c].clone()) for c in range(2) for p in stacked]
    old_opt = torch.optim.Adam(per_critic, lr=1e-3)
    new_opt = torch.optim.Adam(stacked, lr=1e-3)
    grads = [torch.randn_like(p) for p in stacked]
    for p, g in zip(stacked, grads, strict=True):
        p.grad = g
    for i, p in enumerate(per_critic):
        c, j = divmod(i, len(stacked))
        p.grad = grads[j][c].clone()
    old_opt.step()
    new_opt.step()
    converted = stack_critic_optimizer_state(old_opt.state_dict(), 2, len(stacked))
    expected = new_opt.state_dict()
    assert converted["param_groups"][0]["params"] == expected["param_groups"][0]["params"]
    for j, entry in expected["state"].items():
        for name, value in entry.items():
            torch.testing.assert_close(converted["state"][j][name], value)


def test_pretrained_circles_acts_as_before_the_speedups() -> None:
    """Actions recorded with the code before issue 13 (tests/data, seeds 0-2)."""
    import stateless_sac
    from stateless_sac.pretrained import env_config

    try:
        model = stateless_sac.pretrained("circles")
    except FileNotFoundError:
        pytest.skip("no shipped checkpoint")
    recorded = np.load(DATA / "pretrained_circles_actions.npz")
    cfg = env_config("circles")
    env = gym.make(cfg["env_id"], **cfg["env_kwargs"])
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        action, _ = model.predict(obs, deterministic=True)
        np.testing.assert_allclose(action, recorded[f"seed{seed}"], atol=1e-5)
        torch.manual_seed(seed)
        sampled, _ = model.predict(obs, deterministic=False)
        np.testing.assert_allclose(sampled, recorded[f"stoch{seed}"], atol=1e-5)
    for param in model.policy.critics.parameters():  # optimiser state converted to stacked
        assert model.policy.critic_optimizer.state[param]["exp_avg"].shape == param.shape


@pytest.mark.parametrize("with_pixels", [False, True])
def test_collate_tensors_matches_pyg_collation(transitions, with_pixels) -> None:
    datas = [obs_to_data(o, a, r, with_pixels=with_pixels) for o, a, r in transitions]
    expected = Batch.from_data_list(datas)
    batch = collate_tensors([obs_to_tensors(o, a, r, with_pixels) for o, a, r in transitions])
    assert batch.num_nodes == expected.num_nodes and batch.num_graphs == 3
    for key in batch.keys():
        assert torch.equal(batch[key], expected[key]), key
    assert set(batch.keys()) == {
        k for k in expected.keys() if k not in ("batch", "ptr", "num_nodes")
    }


def test_replay_buffer_samples_and_old_pickles_convert(transitions) -> None:
    env = gym.make(ENV_ID, **SMALL)
    buffer = GraphReplayBuffer(10, env.observation_space, env.action_space, seed=1)
    for obs, action, rewards in transitions:
        buffer.add_transition(obs, action, rewards)
    # the numpy layout of buffers pickled before the change
    state = pickle.loads(pickle.dumps(buffer)).__dict__
    state["storage"] = [
        None
        if item is None
        else {
            "x": obs["graph"].nodes,
            "edge_attr": obs["graph"].edges,
            "edge_links": obs["graph"].edge_links.astype(np.int32),
            "action": action,
            "subgraphs": {k: v.astype(np.int32) for k, v in obs["subgraphs"].items()},
            "rewards": rewards,
        }
        for item, (obs, action, rewards) in zip(
            state["storage"], transitions + [(None, None, None)] * 7, strict=True
        )
    ]
    old = GraphReplayBuffer.__new__(GraphReplayBuffer)
    old.__setstate__({**state, "device": "cpu"})
    a, b = buffer.sample(5), old.sample(5)
    for key in a.keys():
        assert torch.equal(a[key], b[key]), key
    expected = Batch.from_data_list([obs_to_data(*transitions[i]) for i in (0, 1, 2)])
    one = collate_tensors(buffer.storage[:3])
    assert torch.equal(one.edge_index, expected.edge_index)


def test_polyak_update_is_a_lerp_of_the_target_critics(transitions) -> None:
    env = gym.make(ENV_ID, **SMALL)
    model = StatelessSAC("GNNPolicy", env, seed=0, tau=0.1, policy_kwargs={"hidden_dim": 8})
    model.set_logger(Logger(None, []))
    for obs, action, rewards in transitions:
        model.replay_buffer.add_transition(obs, action, rewards)
    before = [p.clone() for p in model.policy.critic_targets.parameters()]
    model.train(gradient_steps=1, batch_size=2)
    for old, target, critic in zip(
        before,
        model.policy.critic_targets.parameters(),
        model.policy.critics.parameters(),
        strict=True,
    ):
        torch.testing.assert_close(target, old + 0.1 * (critic - old))
        assert not torch.equal(critic, old)  # the critics did take a step


def test_fused_adam_is_used_and_the_actor_loss_uses_closed_form_log_prob() -> None:
    env = gym.make(ENV_ID, **SMALL)
    model = StatelessSAC("GNNPolicy", env, seed=0, policy_kwargs={"hidden_dim": 8})
    assert model.policy.critic_optimizer.param_groups[0]["fused"] is True
    chosen = StatelessSAC(
        "GNNPolicy",
        env,
        seed=0,
        policy_kwargs={"hidden_dim": 8, "optimizer_kwargs": {"foreach": True}},
    )
    assert not chosen.policy.critic_optimizer.param_groups[0]["fused"]
    u, mean, log_std = torch.randn(50), torch.randn(50), torch.randn(50).clamp(-3, 1)
    from stateless_sac.policies import squashed_log_prob

    normal = torch.distributions.Normal(mean, log_std.exp()).log_prob(u)
    expected = normal - (F.logsigmoid(u) + F.logsigmoid(-u))
    torch.testing.assert_close(squashed_log_prob(u, mean, log_std), expected)


@pytest.mark.parametrize("n_workers", [0, 1])
def test_trimmed_payload_leaves_out_pixels_and_ground_truth(n_workers) -> None:
    from stateless_sac.vec_env import EnvFactory

    env_kwargs = dict(SMALL)
    vec = GraphVecEnv([EnvFactory(ENV_ID, env_kwargs)], n_workers=n_workers)
    plain = gym.make(ENV_ID, **env_kwargs)
    try:
        vec.seed(7)
        full = vec.reset()[0]
        assert {"image", "superpixels"} <= set(full)
        assert "ground_truth" in vec.reset_infos[0]
        vec.trim_payload()
        vec.seed(7)
        trimmed = vec.reset()[0]
        assert set(trimmed) == {"graph", "subgraphs"}
        assert "ground_truth" not in vec.reset_infos[0]
        np.testing.assert_array_equal(trimmed["graph"].nodes, full["graph"].nodes)
        obs, _ = plain.reset(seed=7)
        plain.step(np.zeros(len(obs["graph"].edge_links)))
        plain_next, _ = plain.reset()
        vec.step_async([np.zeros(len(trimmed["graph"].edge_links))])
        stepped = vec.step_wait()[0][0]
        assert set(stepped) == {"graph", "subgraphs"}
        np.testing.assert_array_equal(stepped["graph"].edges, plain_next["graph"].edges)
    finally:
        vec.close()


def test_agent_trims_its_env_unless_the_policy_uses_pixels() -> None:
    from stateless_sac.vec_env import EnvFactory

    vec = GraphVecEnv([EnvFactory(ENV_ID, SMALL)])
    StatelessSAC("GNNPolicy", vec, seed=0, policy_kwargs={"hidden_dim": 8})
    assert vec._drop[0] == ("image", "superpixels")
    pixels = GraphVecEnv([EnvFactory(ENV_ID, SMALL)])
    unet = {"out_channels": 4, "base_channels": 4, "depth": 1}
    StatelessSAC(
        "GNNPolicy", pixels, seed=0, policy_kwargs={"hidden_dim": 8, "pixel_encoder": unet}
    )
    assert pixels._drop == ((), ())


@pytest.mark.slow
def test_paired_learner_benchmark_reports_ratios() -> None:
    """The benchmark's paired old/new harness, with this tree on both sides (tiny settings)."""
    from benchmarks import agent_throughput

    root = agent_throughput.REPO_ROOT
    result = agent_throughput.paired_learner(
        root, new=root, rounds=1, updates=3, predicts=3, n_transitions=2, hidden_dim=8
    )
    assert len(result["runs"]["old"]) == len(result["runs"]["new"]) == 1
    for run in result["runs"]["old"] + result["runs"]["new"]:
        assert run["updates_per_s"] > 0 and run["predicts_per_s"] > 0
    assert [row[0] for row in result["rows"]] == [
        "updates_per_s",
        "updates_per_cpu_s",
        "predicts_per_s",
        "predicts_per_cpu_s",
    ]
    assert "new/old" in agent_throughput.paired_markdown(result, "tiny")


@pytest.mark.slow
def test_paired_training_benchmark_gives_the_new_code_its_own_options() -> None:
    """End-to-end harness: both trees train; ``new_extra`` (here finite-dataset mode, which the
    old code lacks) reaches only the new code's runs."""
    import json

    from benchmarks import agent_throughput

    root = agent_throughput.REPO_ROOT
    tiny = ["--subgraph-sizes", "6", "--learning-starts", "2", "--hidden-dim", "8",
            "--env-kwargs", json.dumps({"image_size": 64, "n_disks": 3}),
            "--subprocess", "false"]  # fmt: skip
    with pytest.raises(
        RuntimeError, match="(?s)new training run failed.*dataset_size must be an integer >= 1"
    ):
        agent_throughput.paired_training(
            root,
            new=root,
            rounds=1,
            total_steps=4,
            extra=tiny,
            new_extra=["--train-env-kwargs", json.dumps({"dataset_size": -1})],
        )
    result = agent_throughput.paired_training(
        root,
        new=root,
        rounds=1,
        total_steps=4,
        extra=tiny,
        new_extra=["--train-env-kwargs", json.dumps({"dataset_size": 2})],
    )
    for run in result["runs"]["old"] + result["runs"]["new"]:
        assert run["env_steps"] == 4 and run["env_steps_per_s"] > 0
    assert [row[0] for row in result["rows"]] == ["env_steps_per_s", "updates_per_s"]
