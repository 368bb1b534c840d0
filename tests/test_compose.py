"""Composition of priors: weighted sums, products, background rules, radial weighting."""

from __future__ import annotations

import numpy as np
import pytest
from reward_cases import fragment_contexts

from seg_rewards import (
    ConstantPrior,
    LargestIsBackground,
    Measurements,
    Prior,
    PriorReward,
    Product,
    RadialBand,
    RadialGaussianWeighting,
    RewardContext,
    RoundnessPrior,
    SizePrior,
    WeightedSum,
)
from seg_rewards.background import AnyBackground
from seg_rewards.presets import disk_prior_reward


class Fixed(Prior):
    """Test prior: score = value for every object; counts its evaluations."""

    def __init__(self, *, value: float) -> None:
        self.value = value
        self.calls = 0

    def score(self, m):
        self.calls += 1
        return np.full(m.n_objects, self.value)


def grid_context(labels: np.ndarray, superpixels: np.ndarray, action=None) -> RewardContext:
    """Context with the 4-neighbour RAG of ``superpixels``; node labels by majority."""
    pairs = set()
    for a, b in ((superpixels[:, 1:], superpixels[:, :-1]), (superpixels[1:], superpixels[:-1])):
        differ = a != b
        for u, v in zip(a[differ], b[differ], strict=True):
            pairs.add((min(u, v), max(u, v)))
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    n = int(superpixels.max()) + 1
    node_labels = np.array([np.bincount(labels[superpixels == i]).argmax() for i in range(n)])
    return RewardContext(
        segmentation=node_labels[superpixels],
        superpixels=superpixels,
        node_labels=node_labels,
        edges=edges,
        action=action,
    )


def test_operators_build_weighted_means_and_products():
    a, b = Fixed(value=0.2), Fixed(value=0.8)
    m = Measurements(np.arange(4).reshape(2, 2))
    mean = 0.25 * a + 0.75 * b
    assert isinstance(mean, WeightedSum) and mean.weights == (0.25, 0.75)
    np.testing.assert_allclose(mean(m), 0.65)
    np.testing.assert_allclose((2 * a + b)(Measurements(np.zeros((2, 2), int))), (0.4 + 0.8) / 3)
    product = a * b * a
    assert isinstance(product, Product) and len(product.priors) == 3
    np.testing.assert_allclose(product(m), 0.2 * 0.8 * 0.2)
    np.testing.assert_allclose(Product(a, b, exponents=[2, 0])(m), 0.04)
    assert "0.25 * Fixed(value=0.2" in repr(mean)


def test_weights_must_sum_to_a_positive_number():
    with pytest.raises(ValueError, match="sum to a positive"):
        WeightedSum(Fixed(value=1), Fixed(value=1), weights=[0, 0])
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        WeightedSum(Fixed(value=1), Fixed(value=1), weights=[1, -1])
    with pytest.raises(ValueError, match="2 entries for 1"):
        WeightedSum(Fixed(value=1), weights=[1, 2])
    with pytest.raises(ValueError, match="at least one"):
        Product()


def test_a_prior_used_twice_is_scored_once_and_measured_once(monkeypatch):
    shared = Fixed(value=0.5)
    reward = PriorReward(
        shared * RoundnessPrior() + shared,
        background=LargestIsBackground(),
        background_score=shared,
    )
    created = []
    original = Measurements.__init__

    def counting_init(self, *args, **kwargs):
        created.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Measurements, "__init__", counting_init)
    labels = np.zeros((32, 32), np.int32)
    labels[4:12, 4:12] = 1
    reward.score_objects(labels)
    assert shared.calls == 1
    assert len(created) == 1


def test_background_rules():
    labels = np.zeros((101, 101), np.int32)
    labels[45:56, 45:56] = 1  # at the centre
    labels[45:57, 85:97] = 2  # 40 px to the right, larger
    m = Measurements(labels)
    assert LargestIsBackground()(m).tolist() == [True, False, False]
    assert LargestIsBackground(count=2)(m).tolist() == [True, False, True]
    band = RadialBand(inner=20, outer=60)
    assert band(m).tolist() == [True, True, False]  # background (surrounds: centroid at centre)
    either = RadialBand(outer=30) | LargestIsBackground()
    assert isinstance(either, AnyBackground)
    assert either(m).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="inner"):
        RadialBand(inner=50, outer=10)
    with pytest.raises(ValueError, match="count"):
        LargestIsBackground(count=0)


def test_prior_reward_gives_background_its_own_score_and_maps_to_edges():
    labels = np.zeros((40, 40), np.int32)
    labels[5:15, 5:15] = 1
    superpixels = np.zeros((40, 40), np.int64)
    superpixels[5:15, 5:15] = 1
    superpixels[20:, :] = 2  # background split into two superpixels
    context = grid_context(labels, superpixels)
    reward = PriorReward(ConstantPrior(0.9), background=LargestIsBackground(), background_score=0.3)
    result = reward(context)
    assert result.extras["background_labels"].tolist() == [0]
    np.testing.assert_allclose(result.superpixel_rewards, [0.3, 0.9, 0.3])
    # Edges: (0, 1) -> max(0.3, 0.9), (0, 2) -> 0.3.
    np.testing.assert_allclose(result.edge_rewards, [0.9, 0.3])
    assert "background=LargestIsBackground(count=1)" in repr(reward)


def test_radial_weighting_rewards_merges_in_the_background_and_objects_in_the_ring():
    size = 101
    yy, xx = np.mgrid[:size, :size]
    radius = np.hypot(yy - 50, xx - 50)
    angle = np.arctan2(yy - 50, xx - 50)
    # Superpixels: 4 sectors x 3 rings (inside the ring, the ring, outside); objects = the
    # 4 ring sectors + inner and outer background.
    ring = np.digitize(radius, [20, 35])
    sector = ((angle + np.pi) / (np.pi / 2)).astype(int) % 4
    superpixels = ring * 4 + sector
    truth = np.where(ring == 1, 1 + sector, np.where(ring == 0, 0, 9))
    good = grid_context(truth, superpixels)
    gt_action = (good.node_labels[good.edges[:, 0]] != good.node_labels[good.edges[:, 1]]).astype(
        float
    )
    cells = SizePrior(max_area=2000, softness=0)  # the ring sectors have ~650 px
    reward = RadialGaussianWeighting(cells, ring_radius=27.5, gamma=10.0, eta=15.0, delta=6.0)
    perfect = reward(RewardContext(**{**good.__dict__, "action": gt_action}))
    merged = reward(
        RewardContext(
            segmentation=np.zeros_like(truth),
            superpixels=superpixels,
            node_labels=np.zeros(12, int),
            edges=good.edges,
            action=np.zeros(len(good.edges)),
        )
    )
    assert np.all((perfect.edge_rewards >= 0) & (perfect.edge_rewards <= 1))
    assert perfect.edge_rewards.mean() > 0.8
    # Merging everything is right in the background only.
    assert merged.edge_rewards.mean() < perfect.edge_rewards.mean()
    w_bg, w_fg = perfect.extras["background_weight"], perfect.extras["foreground_weight"]
    assert w_bg.shape == w_fg.shape == (len(good.edges),)
    # Without an action, the partition's own cut/merge decisions are used.
    no_action = reward(good)
    np.testing.assert_allclose(no_action.edge_rewards, perfect.edge_rewards)
    with pytest.raises(ValueError, match="delta"):
        RadialGaussianWeighting(ConstantPrior(1.0), ring_radius=1, gamma=1, eta=1, delta=0)


def test_disk_prior_reward_scores_a_disk_layout():
    labels = np.zeros((100, 100), np.int32)
    yy, xx = np.mgrid[:100, :100]
    for i, (cy, cx) in enumerate([(25, 25), (25, 75), (75, 25), (75, 75)], start=1):
        labels[np.hypot(yy - cy, xx - cx) <= 12] = i
    reward = disk_prior_reward(expected_count=4, min_radius=10, max_radius=15)
    obj_labels, scores = reward.score_objects(labels)
    assert obj_labels.tolist() == [0, 1, 2, 3, 4]
    assert scores[0] == pytest.approx(1.0)  # background: all 4 disks found
    assert np.all(scores[1:] > 0.8)
    fewer = labels.copy()
    fewer[fewer == 4] = 0
    assert reward.score_objects(fewer)[1][0] < 0.6


# ---------------------------------------------------------------------------- edge rule (issue 11.12)


@pytest.mark.parametrize("rule", ["max", "min", "mean"])
def test_prior_reward_maps_objects_to_edges_with_its_edge_rule(rule):
    contexts, edges = fragment_contexts()
    reward = disk_prior_reward(expected_count=1, min_radius=10, max_radius=18, edge_rule=rule)
    assert reward.edge_rule == rule
    result = reward(contexts["fragment"])
    sp = result.superpixel_rewards
    # The disk and the background score high, the sliver 0: the rules must differ on its edges.
    assert sp[2] > 0.8 and sp[0] > 0.8 and sp[3] == 0.0
    combine = {"max": np.maximum, "min": np.minimum, "mean": lambda a, b: (a + b) / 2}[rule]
    np.testing.assert_allclose(result.edge_rewards, combine(sp[edges[:, 0]], sp[edges[:, 1]]))


def test_min_rule_makes_a_failing_fragment_cost_reward_for_composed_priors():
    contexts, _ = fragment_contexts()
    means = {}
    for rule in ("max", "min"):
        reward = disk_prior_reward(expected_count=1, min_radius=10, max_radius=18, edge_rule=rule)
        for name, context in contexts.items():
            means[rule, name] = reward(context).edge_rewards.mean()
    # With max the fragment is free (every edge around it also touches the background) ...
    assert means["max", "fragment"] == pytest.approx(means["max", "truth"])
    # ... with min it costs the reward of both of its edges.
    assert means["min", "fragment"] < means["min", "truth"] - 0.3
    assert means["min", "truth"] == pytest.approx(means["max", "truth"], abs=0.05)


def test_edge_rule_is_validated_and_shown_and_reaches_the_radial_weighting():
    with pytest.raises(ValueError, match="edge_rule"):
        PriorReward(SizePrior(), edge_rule="median")
    assert PriorReward(SizePrior()).edge_rule == "max"
    assert "edge_rule='min'" in repr(PriorReward(SizePrior(), edge_rule="min"))
    assert "edge_rule" not in repr(PriorReward(SizePrior()))
    contexts, _ = fragment_contexts()
    foreground = disk_prior_reward(expected_count=1, min_radius=10, max_radius=18, edge_rule="min")
    weighted = RadialGaussianWeighting(foreground, ring_radius=20, gamma=5, eta=5, delta=10)
    result = weighted(contexts["fragment"])
    np.testing.assert_allclose(
        result.extras["foreground_edge_rewards"], foreground(contexts["fragment"]).edge_rewards
    )
    assert result.extras["foreground_edge_rewards"][3:].max() == 0.0  # the sliver's edges
