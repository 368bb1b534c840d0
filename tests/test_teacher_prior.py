"""Label-free teachers (``teacher_cut`` edge feature) and the policy's ``action_prior``: the
untrained agent reproduces the teacher's partition, training learns corrections to it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import gym_superpixel_seg  # noqa: F401
from gym_superpixel_seg import baselines
from gym_superpixel_seg.graph import TEACHER_FEATURE
from stateless_sac import StatelessSAC
from stateless_sac.train import edge_feature_index


def nuclei_env(**kwargs):
    return gym.make("SuperpixelSeg-Nuclei-v0", subgraph_sizes=(6,), **kwargs)


def test_classic_nuclei_cuts_are_the_classic_pipeline_projected_onto_the_superpixels():
    env = nuclei_env(teacher=True).unwrapped
    obs, _ = env.reset(seed=1)
    image, superpixels, edges = env.current_image, env.current_superpixels, env.graph.edges
    cuts = baselines.ClassicNucleiCuts()(env, {}, np.random.default_rng(0))
    labels = baselines.classic_nuclei(image, **baselines.CLASSIC_NUCLEI_TUNED)
    assert set(np.unique(cuts)) == {0.0, 1.0}
    np.testing.assert_array_equal(cuts, baselines.cuts_from_labels(labels, superpixels, edges))
    # ... and it is the observation's last edge feature
    assert env.edge_feature_names[-1] == TEACHER_FEATURE
    np.testing.assert_array_equal(obs["graph"].edges[: len(edges), -1], cuts)
    # stepping the teacher's cuts scores its partition: the same reward as the classic labels'
    _, reward, *_ = env.step(cuts)
    env.reset(seed=1)
    _, classic_reward, *_ = env.step(baselines.cuts_from_labels(labels, superpixels, edges))
    assert reward == classic_reward


def test_ridge_multicut_teacher_on_the_membranes_sample():
    env = gym.make("SuperpixelSeg-Membranes-v0", subgraph_sizes=(6,), teacher=True).unwrapped
    obs, info = env.reset(seed=0)
    cuts = obs["graph"].edges[: info["n_edges"], -1]
    assert set(np.unique(cuts)) <= {0.0, 1.0}
    assert 0 < cuts.mean() < 1  # it neither merges nor cuts everything on a real slice
    again = baselines.RidgeMulticutCuts(env.polarity, scale=0.5)(env, {}, None)
    np.testing.assert_array_equal(cuts, again)


def test_teacher_off_by_default_keeps_the_observation():
    plain, taught = nuclei_env(), nuclei_env(teacher=True)
    n_plain = len(plain.unwrapped.edge_feature_names)
    assert len(taught.unwrapped.edge_feature_names) == n_plain + 1
    obs, _ = plain.reset(seed=0)
    taught_obs, _ = taught.reset(seed=0)
    np.testing.assert_array_equal(taught_obs["graph"].edges[:, :-1], obs["graph"].edges)


def test_a_teacher_with_the_wrong_number_of_values_is_an_error():
    env = gym.make(
        "SuperpixelSeg-Circles-v0",
        subgraph_sizes=(6,),
        teacher=lambda env, obs, rng: np.zeros(env.graph.n_edges + 1),
    )
    with pytest.raises(ValueError, match="teacher returned .* values, expected"):
        env.reset(seed=0)


def test_action_prior_shifts_the_actor_mean_by_the_teachers_logit():
    env = nuclei_env(teacher=True)
    column = edge_feature_index("SuperpixelSeg-Nuclei-v0", {"teacher": True}, TEACHER_FEATURE)
    plain = StatelessSAC("GNNPolicy", nuclei_env(teacher=True), seed=0, learning_starts=0)
    prior = StatelessSAC(
        "GNNPolicy",
        env,
        seed=0,
        learning_starts=0,
        policy_kwargs={"action_prior_column": column, "action_prior_gain": 3.0},
    )
    obs, info = env.reset(seed=2)
    batch = plain.policy.obs_to_batch([obs], with_subgraphs=False)
    with torch.no_grad():
        x = plain.policy.node_features(batch)
        mean, _ = plain.policy.distribution(batch, x)
        prior_mean, _ = prior.policy.distribution(batch, x)
    teacher = torch.as_tensor(obs["graph"].edges[:, column])
    torch.testing.assert_close(prior_mean - mean, 3.0 * (2 * teacher - 1))
    # the untrained agent's deterministic action is the teacher's partition
    action, _ = prior.predict(obs, deterministic=True)
    cut = np.asarray(action).reshape(-1)[: info["n_edges"]] > 0.5
    np.testing.assert_array_equal(cut, obs["graph"].edges[: info["n_edges"], column] == 1)


def test_action_prior_is_saved_with_the_agent(tmp_path):
    env = nuclei_env(teacher=True)
    model = StatelessSAC(
        "GNNPolicy", env, seed=0, policy_kwargs={"action_prior_column": -1}, learning_starts=0
    )
    model.save(tmp_path / "agent.zip")
    loaded = StatelessSAC.load(tmp_path / "agent.zip")
    n_edge_features = len(env.unwrapped.edge_feature_names)
    assert loaded.policy.action_prior_column == n_edge_features - 1


def test_action_prior_names_a_missing_feature():
    with pytest.raises(ValueError, match="teacher_cut.*no edge feature of that name"):
        edge_feature_index("SuperpixelSeg-Nuclei-v0", {}, TEACHER_FEATURE)
    with pytest.raises(ValueError, match="not an edge feature index"):
        StatelessSAC("GNNPolicy", nuclei_env(), policy_kwargs={"action_prior_column": 999})
    for gain in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="action_prior_gain must be a finite number >= 0"):
            StatelessSAC(
                "GNNPolicy",
                nuclei_env(teacher=True),
                policy_kwargs={"action_prior_column": -1, "action_prior_gain": gain},
            )


@pytest.mark.parametrize(
    ("env_id", "policy"),
    [
        ("SuperpixelSeg-Circles-v0", baselines.OffLineColourMulticut()),
        ("SuperpixelSeg-CirclesShape-v0", baselines.RoundSegmentsMulticut()),
    ],
)
def test_circles_teacher_is_the_best_label_free_baseline(env_id, policy):
    env = gym.make(env_id, subgraph_sizes=(6,), teacher=True).unwrapped
    obs, info = env.reset(seed=5)
    np.testing.assert_array_equal(
        obs["graph"].edges[: info["n_edges"], -1], policy(env, obs, np.random.default_rng(0))
    )


def test_train_cli_with_a_teacher_starts_from_its_partition(tmp_path):
    import json

    from stateless_sac import train

    out = tmp_path / "run"
    env_kwargs = {"n_disks": 3, "image_size": 64, "teacher": True}
    train.main(
        [
            "--out", str(out), "--env-kwargs", json.dumps(env_kwargs), "--subgraph-sizes", "6",
            "--action-prior", "teacher_cut", "--action-prior-gain", "1.5",
            "--total-steps", "4", "--learning-starts", "10",
            "--hidden-dim", "8", "--eval-every", "0", "--final-eval-seeds", "0",
            "--subprocess", "false",
        ]
    )  # fmt: skip
    model = StatelessSAC.load(out / "final.zip")
    env = gym.make("SuperpixelSeg-Circles-v0", subgraph_sizes=(6,), **env_kwargs)
    assert model.policy.action_prior_column == len(env.unwrapped.edge_feature_names) - 1
    assert model.policy.action_prior_gain == 1.5
    obs, info = env.reset(seed=11)
    action, _ = model.predict(obs, deterministic=True)  # no update yet: the teacher's action
    teacher = obs["graph"].edges[: info["n_edges"], -1]
    np.testing.assert_array_equal(
        np.asarray(action).reshape(-1)[: info["n_edges"]] > 0.5, teacher == 1
    )


@pytest.mark.slow
def test_folder_eval_steps_an_agent_in_its_own_observation_with_the_teacher_row(tmp_path):
    import imageio.v3 as iio

    from benchmarks import folder_eval
    from stateless_sac.cli import fit_train_args
    from stateless_sac.train import main as train_main

    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    yy, xx = np.mgrid[:64, :64]
    for name, centres in (("a", [(20, 20), (44, 40)]), ("b", [(30, 16), (30, 46)])):
        image, labels = np.full((64, 64), 10.0), np.zeros((64, 64), np.uint16)
        for i, (y, x) in enumerate(centres, start=1):
            d2 = (yy - y) ** 2 + (xx - x) ** 2
            image += 200 * np.exp(-d2 / (2 * 6.0**2))
            labels[d2 <= 7**2] = i
        iio.imwrite(folder / "images" / f"{name}.png", image.clip(0, 255).astype(np.uint8))
        iio.imwrite(folder / "labels" / f"{name}.png", labels)
    run = tmp_path / "run"
    argv = fit_train_args(
        str(folder / "images"), "nuclei", str(run), minutes=1, steps=2, seed=0, resume=False
    )
    train_main([*argv, "--subprocess", "false", "--subgraph-sizes", "6", "--hidden-dim", "8"])
    result = folder_eval.main(
        ["--env-id", "SuperpixelSeg-Nuclei-v0", "--test", str(folder), "--tune", str(folder),
         "--agent", str(run / "final.zip")]
    )  # fmt: skip
    teacher = result["teacher ClassicNucleiCuts on the superpixels"]
    # two updates cannot move a residual policy off its teacher: same partition, same scores
    assert result[f"agent {run / 'final.zip'}"] == teacher
    assert teacher["sbd"] > 0.5
    # the README's figure of a real result: teacher, agent and ground-truth rows
    from benchmarks import real_example

    figure = real_example.main(
        ["--agent", str(run / "final.zip"), "--folder", str(folder), "--image", "b",
         "--out", str(tmp_path / "figure.png")]
    )  # fmt: skip
    assert figure.stat().st_size > 10_000
    with pytest.raises(ValueError, match="no image 'c'"):
        real_example.main(
            ["--agent", str(run / "final.zip"), "--folder", str(folder), "--image", "c",
             "--out", str(tmp_path / "x.png")]
        )  # fmt: skip


def test_shift_suite_builds_the_teacher_column_for_an_agent_that_needs_it(tmp_path):
    from benchmarks.__main__ import main as benchmarks_main

    env = gym.make("SuperpixelSeg-Circles-v0", subgraph_sizes=(6, 12, 32, 128), teacher=True)
    model = StatelessSAC("GNNPolicy", env, seed=0, policy_kwargs={"action_prior_column": -1})
    model.save(tmp_path / "taught.zip")
    out = tmp_path / "shift"
    argv = ["run", "shift", "--seeds", "1", "--tune-seeds", "1", "--image-size", "96"]
    argv += ["--shifts", "default", "--agent", str(tmp_path / "taught.zip"), "--out", str(out)]
    assert benchmarks_main([*argv, "--no-progress"]) == 0
    import json

    summary = json.loads((out / "shift.json").read_text())["summary"]["default"]
    colour = next(v for k, v in summary.items() if k.startswith("off-line colour multicut"))
    assert summary["agent taught.zip"]["sbd"] == colour["sbd"]  # untrained: the teacher


# Only nuclei: on the bundled membrane sample (PlantSeg ovule, bright membranes, scale 0.5) the
# shipped membranes agent merges everything (SBD 0.09, as did the one before it) while its
# teacher reaches 0.60: a known failure out of its training distribution (docs/benchmarks.md).
@pytest.mark.parametrize("name", ["nuclei"])
def test_shipped_real_image_agents_start_from_their_teacher_and_stay_near_it(name):
    import stateless_sac
    from stateless_sac.evaluate import agent_policy
    from stateless_sac.pretrained import env_config

    config = env_config(name)
    assert config["env_kwargs"]["teacher"] is True
    env = gym.make(config["env_id"], **{**config["env_kwargs"], "crop_size": None})
    model = stateless_sac.pretrained(name)
    assert model.policy.action_prior_column == len(env.unwrapped.edge_feature_names) - 1
    column = model.policy.action_prior_column
    images = range(len(env.unwrapped.image_names))
    agent = baselines.evaluate(env, agent_policy(model), images, image_indices=True)
    teacher = baselines.evaluate(
        env, lambda env, obs, rng: obs["graph"].edges[: env.graph.n_edges, column], images,
        image_indices=True,
    )  # fmt: skip
    # on the bundled sample (never trained on, no tuning) the agent keeps its teacher's quality
    assert np.mean(agent.values("sbd")) > np.mean(teacher.values("sbd")) - 0.05


def test_quality_suite_builds_the_teacher_column_for_an_agent_that_needs_it(tmp_path):
    import json

    from benchmarks.__main__ import main as benchmarks_main

    env = gym.make("SuperpixelSeg-Circles-v0", subgraph_sizes=(6, 12, 32, 128), teacher=True)
    model = StatelessSAC("GNNPolicy", env, seed=0, policy_kwargs={"action_prior_column": -1})
    model.save(tmp_path / "taught.zip")
    out = tmp_path / "quality"
    argv = ["run", "quality", "--env", "SuperpixelSeg-Circles-v0", "--seeds", "1", "--tune-seeds"]
    argv += ["1", "--agent", str(tmp_path / "taught.zip"), "--out", str(out), "--no-progress"]
    assert benchmarks_main(argv) == 0
    assert "agent taught.zip" in (out / "quality.md").read_text()
    assert json.loads((out / "quality.json").read_text())["setup"]["env_kwargs"]["teacher"]
