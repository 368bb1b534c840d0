"""The loss functions of stateless SAC against hand computations."""

import pytest

torch = pytest.importorskip("torch")

from stateless_sac import losses  # noqa: E402


def test_critic_loss_is_half_the_squared_error_summed_over_critics():
    q = {2: torch.tensor([[1.0, 0.0], [0.5, 0.5]]), 3: torch.tensor([[1.0], [1.0]])}
    rewards = {2: torch.tensor([0.0, 0.0]), 3: torch.tensor([0.0])}
    # size 2: mean over critics and subgraphs of the squared error = (1 + 0 + .25 + .25) / 4
    expected = 0.5 * 2 * ((0.375 + 1.0) / 2)
    assert losses.critic_loss(q, rewards, 2).item() == pytest.approx(expected)


def test_actor_loss_uses_the_smaller_critic_and_the_subgraphs_log_probs():
    q_pi = {2: torch.tensor([[1.0, 2.0], [0.5, 3.0]])}
    log_prob = torch.tensor([-1.0, -2.0, -3.0])
    rows = {2: torch.tensor([[0, 1], [1, 2]])}
    alpha = torch.tensor(0.5)
    # subgraph 0: 0.5 * (-3) - 0.5 ; subgraph 1: 0.5 * (-5) - 2.0
    expected = ((0.5 * -3 - 0.5) + (0.5 * -5 - 2.0)) / 2
    assert losses.actor_loss(q_pi, log_prob, rows, alpha).item() == pytest.approx(expected)


def test_entropy_coefficient_loss_pushes_alpha_towards_the_target_entropy():
    log_alpha = torch.tensor(0.0, requires_grad=True)
    log_prob = torch.tensor([2.0, 2.0])  # entropy -2 below the target -1: alpha must grow
    losses.entropy_coef_loss(log_alpha, log_prob, -1.0).backward()
    assert log_alpha.grad.item() < 0  # gradient descent increases log alpha
