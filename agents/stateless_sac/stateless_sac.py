"""``StatelessSAC``: a one-step soft actor-critic on superpixel graphs (paper section 3.1).

An SB3 :class:`OffPolicyAlgorithm`: ``learn`` (callbacks, logger/tensorboard, progress bar),
``predict``, ``save``/``load`` and ``save_replay_buffer``/``load_replay_buffer`` work as in SB3.
What differs from SB3's SAC: observations are graphs (a list of dicts, see
:class:`~stateless_sac.vec_env.GraphVecEnv`), actions have one entry per edge of each graph,
rewards are per-subgraph vectors (``info["subgraph_rewards"]``), and episodes are one step, so
the critic regresses the subgraph reward directly (eq. 4, no bootstrapping, no gamma) and the
actor minimises eq. 2 per subgraph.
"""

from __future__ import annotations

import io
import os
import pathlib
import pickle
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.save_util import json_to_data
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, RolloutReturn, TrainFreq
from stable_baselines3.common.utils import should_collect_more_steps
from stable_baselines3.common.vec_env import VecEnv

import gym_superpixel_seg  # noqa: F401  (registers the env ids for string envs)
from stateless_sac import losses
from stateless_sac.buffers import GraphReplayBuffer
from stateless_sac.data import reward_key
from stateless_sac.policies import GNNPolicy, fast_optimizer_kwargs
from stateless_sac.vec_env import GraphVecEnv, make_graph_vec_env

SelfStatelessSAC = TypeVar("SelfStatelessSAC", bound="StatelessSAC")


class StatelessSAC(OffPolicyAlgorithm):
    """Stateless soft actor-critic with GNN actor/critics and per-subgraph rewards.

    :param policy: ``"GNNPolicy"`` or a :class:`GNNPolicy` subclass.
    :param env: a Gymnasium env, a :class:`GraphVecEnv`, or a registered env id (then
        ``n_envs`` copies are built with ``env_kwargs``, in worker processes if ``subprocess``).
    :param learning_rate: Adam learning rate of actor, critics and temperature (or a schedule).
    :param buffer_size: replay buffer capacity in transitions (one transition = one image).
    :param learning_starts: env steps with uniform random actions before training starts.
    :param batch_size: graphs (transitions) per gradient update.
    :param tau: Polyak coefficient of the target critics.
    :param train_freq: env steps (per env) between training phases.
    :param gradient_steps: gradient updates per training phase (-1: as many as env steps).
    :param ent_coef: temperature alpha; ``"auto"`` / ``"auto_0.1"`` learns it (initial value 0.1).
    :param target_entropy: target entropy *per edge* for alpha tuning (``"auto"`` = -1.0).
    :param target_update_interval: gradient steps between target-critic soft updates.
    :param actor_uses_target_critics: take Q in the actor loss from the target critics.
    :param subgraph_sizes: subgraph sizes the critics model and the losses use (a subset of the
        env's; ``None`` = all).
    :param n_envs: number of envs when ``env`` is an id string.
    :param env_kwargs: keyword arguments for ``gymnasium.make`` when ``env`` is an id string.
    :param subprocess: run the envs in worker processes when ``env`` is an id string.
    :param overlap_training: run the gradient updates while the env workers step and reset.
    :param policy_kwargs: extra :class:`GNNPolicy` arguments (``hidden_dim``, ``n_layers``, ...).
    :param tensorboard_log: tensorboard log folder (None: no tensorboard).
    :param verbose: 0 silent, 1 info, 2 debug.
    :param seed: seed of torch, numpy, the envs, warm-up actions and buffer sampling.
    :param device: torch device ("auto" = cuda if available).
    :param _init_setup_model: build the networks now (False only when loading).
    """

    policy_aliases: ClassVar[dict[str, type[GNNPolicy]]] = {"GNNPolicy": GNNPolicy}
    policy: GNNPolicy
    replay_buffer: GraphReplayBuffer

    def __init__(
        self,
        policy: str | type[GNNPolicy],
        env: GymEnv | str | None,
        learning_rate: float = 3e-4,
        buffer_size: int = 20_000,
        learning_starts: int = 100,
        batch_size: int = 8,
        tau: float = 0.005,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        ent_coef: str | float = "auto",
        target_entropy: str | float = "auto",
        target_update_interval: int = 1,
        actor_uses_target_critics: bool = False,
        subgraph_sizes: tuple[int, ...] | list[int] | None = None,
        n_envs: int = 1,
        env_kwargs: dict[str, Any] | None = None,
        subprocess: bool = False,
        overlap_training: bool = True,
        policy_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if isinstance(env, str):
            env = make_graph_vec_env(env, n_envs, env_kwargs, subprocess=subprocess)
        policy_kwargs = dict(policy_kwargs or {})
        if subgraph_sizes is not None:
            policy_kwargs["subgraph_sizes"] = tuple(int(k) for k in subgraph_sizes)
        super().__init__(
            policy,
            env,
            learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=0.0,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            support_multi_env=True,
            monitor_wrapper=False,
            supported_action_spaces=(spaces.Box,),
            sde_support=False,
        )
        self.ent_coef = ent_coef
        self.target_entropy = target_entropy
        self.target_update_interval = target_update_interval
        self.actor_uses_target_critics = actor_uses_target_critics
        self.overlap_training = overlap_training
        self.log_ent_coef: torch.Tensor | None = None
        self.ent_coef_optimizer: torch.optim.Optimizer | None = None
        if _init_setup_model:
            self._setup_model()

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _wrap_env(env: GymEnv, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        """Graph observations need a :class:`GraphVecEnv`; a plain env runs in-process."""
        if isinstance(env, GraphVecEnv):
            return env
        if isinstance(env, VecEnv):
            raise ValueError(
                "StatelessSAC needs a stateless_sac.vec_env.GraphVecEnv (SB3 VecEnvs cannot hold "
                "graph observations); pass a gymnasium env, an env id or a GraphVecEnv"
            )
        return GraphVecEnv([lambda: env])

    def _setup_model(self) -> None:
        # SB3's OffPolicyAlgorithm._setup_model builds lr schedule, seeds, replay buffer, policy
        # and train frequency; it only needs to be told the buffer class and its options
        # (also for checkpoints saved without them: SB3 would pick a DictReplayBuffer).
        if self.replay_buffer_class is None:
            self.replay_buffer_class = GraphReplayBuffer
        self.replay_buffer_kwargs = {
            "store_pixels": self.policy_kwargs.get("pixel_encoder") is not None,
            "seed": self.seed,
            **(self.replay_buffer_kwargs or {}),
        }
        super()._setup_model()
        if getattr(self, "_warmup_rng", None) is None:  # a loaded model keeps its saved stream
            self._warmup_rng = np.random.default_rng(self.seed)
        self.target_entropy_per_edge = (
            -1.0 if self.target_entropy == "auto" else float(self.target_entropy)
        )
        if isinstance(self.ent_coef, str) and self.ent_coef.startswith("auto"):
            init = float(self.ent_coef.split("_")[1]) if "_" in self.ent_coef else 0.1
            if init <= 0:
                raise ValueError("the initial value of ent_coef must be > 0")
            self.log_ent_coef = torch.log(torch.ones(1, device=self.device) * init).requires_grad_(
                True
            )
            self.ent_coef_optimizer = torch.optim.Adam(
                [self.log_ent_coef],
                lr=self.lr_schedule(1),
                **fast_optimizer_kwargs(torch.optim.Adam, None),
            )
        else:
            self.ent_coef_tensor = torch.tensor(float(self.ent_coef), device=self.device)
        self._trim_env_payload()

    def _trim_env_payload(self) -> None:
        """Ask the env workers not to send what this policy never reads (image, superpixels)."""
        env = getattr(self, "env", None)
        if isinstance(env, GraphVecEnv) and not self.policy.uses_pixels:
            env.trim_payload()

    def set_env(self, env: GymEnv, force_reset: bool = True) -> None:
        super().set_env(env, force_reset=force_reset)
        self._trim_env_payload()

    def set_random_seed(self, seed: int | None = None) -> None:
        super().set_random_seed(seed)
        if seed is not None and getattr(self, "replay_buffer", None) is not None:
            self.replay_buffer.seed(seed)

    def _excluded_save_params(self) -> list[str]:
        # Observations hold images: re-create them by resetting instead of pickling them.
        return [*super()._excluded_save_params(), "_last_obs", "_last_original_obs"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts = ["policy", "policy.actor_optimizer", "policy.critic_optimizer"]
        if self.ent_coef_optimizer is not None:
            return [*state_dicts, "ent_coef_optimizer"], ["log_ent_coef"]
        return state_dicts, ["ent_coef_tensor"]

    def set_parameters(
        self,
        load_path_or_dict: str | dict[str, Any],
        exact_match: bool = True,
        device: torch.device | str = "auto",
    ) -> None:
        """SB3's ``set_parameters``, converting optimiser states of older checkpoints.

        Checkpoints written before the critics were stacked hold one optimiser entry per
        critic parameter; :meth:`GNNPolicy.upgrade_optimizer_state` stacks them (the policy's
        own ``load_state_dict`` converts the weights). Adam keeps its fused implementation
        even when the saved state says otherwise.
        """
        params = load_path_or_dict
        if not isinstance(params, dict):
            from stable_baselines3.common.save_util import load_from_zip_file

            _, params, _ = load_from_zip_file(params, device=device, load_data=False)
        params = dict(params)
        for name in ("actor_optimizer", "critic_optimizer"):
            if f"policy.{name}" in params:
                params[f"policy.{name}"] = self.policy.upgrade_optimizer_state(
                    name, params[f"policy.{name}"]
                )
        super().set_parameters(params, exact_match=exact_match, device=device)
        policy = self.policy
        kwargs = fast_optimizer_kwargs(policy.optimizer_class, policy.optimizer_kwargs)
        optimizers = [policy.actor_optimizer, policy.critic_optimizer, self.ent_coef_optimizer]
        if kwargs.get("fused"):
            for optimizer in optimizers:
                for group in optimizer.param_groups if optimizer is not None else ():
                    group.update(fused=True, foreach=None)

    # -------------------------------------------------------------- acting
    def predict(  # type: ignore[override]
        self,
        observation: dict[str, Any] | list[dict[str, Any]],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray | list[np.ndarray], None]:
        """One (E,) weight in [0, 1] per edge (cut = 1) for an observation (or a list of them)."""
        return self.policy.predict(observation, deterministic=deterministic)

    def _sample_action(
        self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Uniform random weights during warm-up, then samples from the policy."""
        if self.num_timesteps < learning_starts:
            actions = [
                self._warmup_rng.random(len(o["graph"].edge_links)).astype(np.float32)
                for o in self._last_obs
            ]
        else:
            actions, _ = self.predict(self._last_obs, deterministic=False)
        return actions, actions

    # ------------------------------------------------------------ learning
    def learn(
        self: SelfStatelessSAC,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 100,
        tb_log_name: str = "StatelessSAC",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfStatelessSAC:
        """Collect one-step episodes and train; same arguments as SB3's ``learn``.

        ``log_interval`` counts episodes (= env steps) between logger dumps.

        SB3's ``OffPolicyAlgorithm.learn`` is this loop plus a ``train`` call after every
        rollout. Here the updates run inside :meth:`collect_rollouts`, while the env workers
        step (``overlap_training``), and are decided there so that a checkpoint taken between
        two steps holds everything the next step needs (bit-identical resume); SB3's
        post-rollout call would train a second time, hence this override without it.
        """
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        callback.on_training_start(locals(), globals())
        assert isinstance(self.train_freq, TrainFreq)
        while self.num_timesteps < total_timesteps:
            rollout = self.collect_rollouts(
                self.env,
                callback=callback,
                train_freq=self.train_freq,
                replay_buffer=self.replay_buffer,
                learning_starts=self.learning_starts,
                log_interval=log_interval,
            )
            if not rollout.continue_training:
                break
        callback.on_training_end()
        return self

    def _can_train(self) -> bool:
        return self.num_timesteps > self.learning_starts and self.replay_buffer.size() > 0

    def collect_rollouts(  # type: ignore[override]
        self,
        env: VecEnv,
        callback: BaseCallback,
        train_freq: TrainFreq,
        replay_buffer: GraphReplayBuffer,
        action_noise: Any = None,
        learning_starts: int = 0,
        log_interval: int | None = None,
    ) -> RolloutReturn:
        """Step all envs ``train_freq`` times; gradient updates run while the workers step."""
        num_steps = 0
        callback.on_rollout_start()
        while should_collect_more_steps(train_freq, num_steps, 0):
            self.policy.set_training_mode(False)
            actions, _ = self._sample_action(learning_starts, None, env.num_envs)
            env.step_async(actions)
            if self.overlap_training and self._can_train():
                self._train_phase(env.num_envs)
            new_obs, rewards, dones, infos = env.step_wait()
            self.num_timesteps += env.num_envs
            num_steps += 1
            self._update_info_buffer(infos, dones)
            for obs, action, info in zip(self._last_obs, actions, infos, strict=True):
                replay_buffer.add_transition(obs, action, info["subgraph_rewards"])
            self._last_obs = new_obs
            self._update_current_progress_remaining(self.num_timesteps, self._total_timesteps)
            if not self.overlap_training and self._can_train():
                self._train_phase(env.num_envs)
            for _ in range(env.num_envs):
                self._episode_num += 1
                if log_interval is not None and self._episode_num % log_interval == 0:
                    self.dump_logs()
            # Unlike SB3 (callback before storing), the callback runs once the step is
            # complete: a checkpoint it writes, or a stop it asks for, then loses nothing and a
            # resumed run continues exactly where this one was.
            callback.update_locals(locals())
            if not callback.on_step():
                return RolloutReturn(num_steps * env.num_envs, num_steps * env.num_envs, False)
        callback.on_rollout_end()
        return RolloutReturn(num_steps * env.num_envs, num_steps * env.num_envs, True)

    def _train_phase(self, n_env_steps: int) -> None:
        steps = self.gradient_steps if self.gradient_steps >= 0 else n_env_steps
        if steps > 0:
            self.train(gradient_steps=steps, batch_size=self.batch_size)

    def _ent_coef(self) -> torch.Tensor:
        if self.log_ent_coef is not None:
            return self.log_ent_coef.detach().exp()
        return self.ent_coef_tensor

    def train(self, gradient_steps: int, batch_size: int = 8) -> None:
        """Gradient updates: critic eq. 4, actor eq. 2, temperature, target critics.

        Per-update overhead is kept low (the learner is the training bottleneck): all critics
        in one batched forward, fused Adam, one ``_foreach_lerp_`` for the target critics,
        and the logged statistics kept as tensors until the end of the phase.
        """
        self.policy.set_training_mode(True)
        policy = self.policy
        self._update_learning_rate([policy.actor_optimizer, policy.critic_optimizer])
        stats: dict[str, list[torch.Tensor]] = {
            k: [] for k in ("critic_loss", "actor_loss", "ent_coef", "entropy", "q", "reward")
        }
        n_critics = policy.n_critics
        critic_params = list(policy.critics.parameters())
        target_params = list(policy.critic_targets.parameters())
        for _ in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size)
            subgraphs = {k: v for k, v in policy.subgraphs_of(batch).items() if len(v)}
            if not subgraphs:  # graphs too small for any subgraph: nothing to learn from
                continue
            rewards = {k: batch[reward_key(k)] for k in subgraphs}

            # critic, eq. 4: 1/|SG| sum 1/2 (Q_sg(s, a) - r_sg)^2, mean over sizes, summed
            # over critics (= n_critics * the mean over critics and subgraphs).
            # The U-Net (Method 1) is trained by the actor only, so the critic gets x detached.
            x = policy.node_features(batch)
            qs = policy.q_stacked(batch, x.detach(), batch.action, subgraphs=subgraphs)
            critic_loss = losses.critic_loss(qs, rewards, n_critics)
            policy.critic_optimizer.zero_grad()
            critic_loss.backward()
            policy.critic_optimizer.step()

            # actor, eq. 2: 1/|SG| sum [alpha sum_{e in sg} log pi(a_e|s) - Q_sg(s, a)]
            alpha = self._ent_coef()
            action, log_prob = policy.sample(batch, x)
            policy.critics.requires_grad_(False)
            q_pi = policy.q_stacked(
                batch, x.detach(), action, self.actor_uses_target_critics, subgraphs
            )
            policy.critics.requires_grad_(True)
            actor_loss = losses.actor_loss(q_pi, log_prob, subgraphs, alpha)
            policy.actor_optimizer.zero_grad()
            actor_loss.backward()
            policy.actor_optimizer.step()

            if self.ent_coef_optimizer is not None:
                ent_loss = losses.entropy_coef_loss(
                    self.log_ent_coef, log_prob, self.target_entropy_per_edge
                )
                self.ent_coef_optimizer.zero_grad()
                ent_loss.backward()
                self.ent_coef_optimizer.step()

            self._n_updates += 1
            if self._n_updates % self.target_update_interval == 0:
                with torch.no_grad():  # target <- target + tau (critic - target)
                    torch._foreach_lerp_(target_params, critic_params, self.tau)
            stats["critic_loss"].append(critic_loss.detach())
            stats["actor_loss"].append(actor_loss.detach())
            stats["ent_coef"].append(alpha.reshape(()))
            stats["entropy"].append(-log_prob.detach().mean())
            stats["q"].append(torch.cat([qs[k][0] for k in subgraphs]).detach().mean())
            stats["reward"].append(torch.cat(list(rewards.values())).mean())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for name, values in stats.items():
            if values:
                self.logger.record(f"train/{name}", torch.stack(values).mean().item())

    # ----------------------------------------------------------- save/load
    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfStatelessSAC],
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: torch.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfStatelessSAC:
        """Load a checkpoint; a corrupt or incompatible file raises ``ValueError`` saying why."""
        if isinstance(path, str | pathlib.Path):
            path = _checked_checkpoint(path)
        try:
            return BaseAlgorithm.load.__func__(  # type: ignore[attr-defined]
                cls, path, env, device, custom_objects, print_system_info, force_reset, **kwargs
            )
        except (
            zipfile.BadZipFile,
            EOFError,
            pickle.UnpicklingError,
            KeyError,
            AssertionError,
        ) as e:
            raise ValueError(
                f"{path} is not a valid StatelessSAC checkpoint (corrupt or truncated): {e!r}"
            ) from e
        except RuntimeError as e:
            raise ValueError(
                f"checkpoint {path} does not fit this StatelessSAC/GNNPolicy: {e}"
            ) from e
        except ValueError as e:
            raise ValueError(f"checkpoint {path} cannot be used here: {e}") from e


def load_policy(path: str | os.PathLike, device: torch.device | str = "cpu") -> GNNPolicy:
    """The policy of a :class:`StatelessSAC` checkpoint alone, in eval mode, for acting.

    Builds only the networks and loads their weights: no optimisers, replay buffer, entropy
    coefficient or env, so it is faster to load than :meth:`StatelessSAC.load` (whose
    optimisers import ``torch._dynamo``, ~1.4 s of CPU). ``load_policy(p).predict(obs,
    deterministic=True)`` gives the same actions as ``StatelessSAC.load(p).predict(obs,
    deterministic=True)``.

    Args:
        path: the checkpoint (``.zip``; the suffix may be left out).
        device: torch device of the networks.

    Returns:
        The :class:`~stateless_sac.policies.GNNPolicy` (no ``actor_optimizer``/``critic_optimizer``).

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        ValueError: a corrupt or truncated file, or one that does not hold a GNNPolicy.

    Examples:
        >>> policy = load_policy("runs/nuclei/final.zip")  # doctest: +SKIP
        >>> action, _ = policy.predict(obs, deterministic=True)  # doctest: +SKIP
    """
    from stable_baselines3.common.save_util import load_from_zip_file

    path = _checked_checkpoint(path)
    try:
        data, params, _ = load_from_zip_file(path, device=device)
        # As StatelessSAC.load builds it (SB3's _setup_model), minus the optimisers.
        kwargs = {**data["policy_kwargs"], "optimizer_class": None}
        policy = data["policy_class"](
            data["observation_space"], data["action_space"], lambda _: 0.0, **kwargs
        )
        policy.load_state_dict(params["policy"])
    except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError, KeyError) as e:
        raise ValueError(
            f"{path} is not a valid StatelessSAC checkpoint (corrupt or truncated): {e!r}"
        ) from e
    except RuntimeError as e:
        raise ValueError(f"checkpoint {path} does not fit this StatelessSAC/GNNPolicy: {e}") from e
    policy = policy.to(device)
    policy.set_training_mode(False)
    return policy


def _checked_checkpoint(path: str | os.PathLike) -> pathlib.Path:
    """The checkpoint file at ``path`` (``.zip`` added when left out), checked to be a complete
    zip holding a GNNPolicy; FileNotFoundError or ValueError otherwise."""
    path = pathlib.Path(path)
    if not path.exists() and path.with_suffix(".zip").exists():
        path = path.with_suffix(".zip")
    if not path.exists():
        raise FileNotFoundError(f"no StatelessSAC checkpoint at {path}")
    _check_zip(path)
    _check_policy_class(path)
    return path


def _check_zip(path: pathlib.Path) -> None:
    """Raise ValueError if ``path`` is not a complete zip archive (truncated or corrupt)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(
            f"{path} is not a valid StatelessSAC checkpoint (corrupt or truncated zip): {e}"
        ) from e
    if bad is not None:
        raise ValueError(
            f"{path} is not a valid StatelessSAC checkpoint: member {bad!r} is corrupt"
        )


def _check_policy_class(path: pathlib.Path) -> None:
    """Raise ValueError unless the SB3 zip at ``path`` holds a GNNPolicy (e.g. a PPO or SAC
    model of SB3 itself would otherwise fail later with an AttributeError)."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = json_to_data(archive.read("data").decode())
    except KeyError as e:
        raise ValueError(f"{path} is not an SB3 model zip (it has no 'data' entry)") from e
    policy_class = data.get("policy_class")
    if not (isinstance(policy_class, type) and issubclass(policy_class, GNNPolicy)):
        name = getattr(policy_class, "__qualname__", repr(policy_class))
        raise ValueError(
            f"{path} is not a StatelessSAC checkpoint: its policy is {name}, not a GNNPolicy "
            "(load it with the algorithm that saved it)"
        )


def atomic_save(model: StatelessSAC, path: str | os.PathLike) -> None:
    """Save ``model`` to ``path`` via a temp file, fsync and rename: ``path`` is always either
    the old or the new complete file. (Model + replay buffer: :mod:`stateless_sac.checkpoints`.)
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, model.save)


def atomic_write(path: str | os.PathLike, content: bytes | Callable[[BinaryIO], object]) -> None:
    """Write ``content`` (bytes, or a function writing to a binary file) to ``path`` through a
    hidden temp file beside it: fsync, rename into place, fsync the folder. ``path`` is always
    either the old or the new complete file, also after a crash."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        if isinstance(content, bytes):
            f.write(content)
        else:
            content(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: str | os.PathLike) -> None:
    """fsync a directory so that renames in it survive a crash (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
