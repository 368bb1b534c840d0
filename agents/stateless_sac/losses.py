"""The stateless SAC losses (paper eqs. 2 and 4, and SAC's temperature loss), as plain functions.

Subgraph-level quantities are dicts ``{k: ...}`` over the subgraph sizes of a batch:
``q[k]`` is (n_critics, S_k) (every critic's value of every subgraph), ``rewards[k]`` (S_k,),
``rows[k]`` (S_k, k) the edge indices of each subgraph into the batch's edges.
"""

from __future__ import annotations

import torch


def critic_loss(
    q: dict[int, torch.Tensor], rewards: dict[int, torch.Tensor], n_critics: int
) -> torch.Tensor:
    """Eq. 4: ``1/|SG| sum 1/2 (Q_sg(s, a) - r_sg)^2``, mean over sizes, summed over critics.

    There is no bootstrapping: episodes are one step long, so the target is the subgraph reward
    itself. The sum over critics equals ``n_critics`` times the mean over critics and subgraphs.
    """
    per_size = [(q[k] - rewards[k]).square().mean() for k in rewards]
    return torch.stack(per_size).mean() * (0.5 * n_critics)


def actor_loss(
    q_pi: dict[int, torch.Tensor],
    log_prob: torch.Tensor,
    rows: dict[int, torch.Tensor],
    alpha: torch.Tensor,
) -> torch.Tensor:
    """Eq. 2: ``1/|SG| sum [alpha sum_{e in sg} log pi(a_e | s) - min_c Q_c,sg(s, a)]``, mean
    over sizes; ``log_prob`` (E,) per edge of the batch, ``q_pi`` the critics' values of the
    policy's own (reparameterised) action."""
    terms = [(alpha * log_prob[rows[k]].sum(dim=1) - q_pi[k].amin(dim=0)).mean() for k in rows]
    return torch.stack(terms).mean()


def entropy_coef_loss(
    log_ent_coef: torch.Tensor, log_prob: torch.Tensor, target_entropy_per_edge: float
) -> torch.Tensor:
    """SAC's automatic temperature: ``-log(alpha) (log pi + target entropy)``, mean over edges."""
    return -(log_ent_coef * (log_prob.detach() + target_entropy_per_edge)).mean()
