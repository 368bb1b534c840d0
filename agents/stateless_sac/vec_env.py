"""Vectorised rollouts for graph observations (SB3's VecEnvs cannot hold ``Graph`` spaces).

:class:`GraphVecEnv` is an SB3 :class:`~stable_baselines3.common.vec_env.VecEnv` whose
observations are a *list* of per-env observation dicts (graphs differ in size, so nothing is
stacked) and whose actions are a list of per-env (E_i,) arrays. Environments run either in this
process (``n_workers=0``) or in worker processes (``start_method`` "forkserver"/"spawn"), so
the multicut and the reward of several envs run in parallel while the learner trains; or in
Ray actors on a cluster (:class:`~stateless_sac.ray_vec_env.RayGraphVecEnv`, the same protocol:
every worker is an :class:`EnvServer`).

Episodes are one step long: ``step`` resets every env right after its step (auto-reset, in the
worker) and returns the *new* observations, the rewards, ``dones`` (all True) and trimmed
infos (``subgraph_rewards``, ``metrics`` when present, and SB3's ``episode`` statistics).
:meth:`GraphVecEnv.trim_payload` also leaves out the observation entries a learner does not read
(the image and the int64 superpixel map, 1.3 MB of a 256x256 step) and the reset info's ground
truth, before they are pickled in the worker.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import pickle
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import CloudpickleWrapper

#: Keys of the step info that travel back from the workers (the rest is large and unused).
KEPT_INFO_KEYS = ("subgraph_rewards", "metrics", "n_edges")


class EnvFactory:
    """A picklable ``() -> gym.Env`` for worker processes.

    :param env_id: a registered Gymnasium id, e.g. ``"SuperpixelSeg-Circles-v0"``.
    :param env_kwargs: keyword arguments for ``gymnasium.make``.
    """

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None) -> None:
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})

    def __call__(self) -> gym.Env:
        import gym_superpixel_seg  # noqa: F401  (registers the ids in a fresh process)

        return gym.make(self.env_id, **self.env_kwargs)


def _trim_info(info: dict[str, Any], reward: float, start: float) -> dict[str, Any]:
    kept = {k: info[k] for k in KEPT_INFO_KEYS if k in info}
    kept["episode"] = {"r": float(reward), "l": 1, "t": round(time.perf_counter() - start, 6)}
    return kept


#: What :meth:`GraphVecEnv.trim_payload` drops by default: the observation entries and reset-info
#: entries a learner on env node features never reads (98% of the bytes of a Circles step).
TRIMMED_OBS_KEYS = ("image", "superpixels")
TRIMMED_RESET_INFO_KEYS = ("ground_truth",)
#: (observation keys, reset-info keys) left out of what reset/step return.
Drop = tuple[tuple[str, ...], tuple[str, ...]]
NO_DROP: Drop = ((), ())


def _trim(obs: dict[str, Any], reset_info: dict[str, Any], drop: Drop) -> tuple[dict, dict]:
    obs_keys, info_keys = drop
    if obs_keys:
        obs = {k: v for k, v in obs.items() if k not in obs_keys}
    if info_keys:
        reset_info = {k: v for k, v in reset_info.items() if k not in info_keys}
    return obs, reset_info


def _reset(
    env: gym.Env, seed: int | None, options: dict | None, drop: Drop = NO_DROP
) -> tuple[Any, dict, dict]:
    """``env.reset`` plus a record from which :func:`_replay_reset` repeats it exactly: the seed,
    or (unseeded) a copy of the env's generator as it was before the reset drew from it."""
    record = {
        "seed": seed,
        "options": options or None,
        "np_random": None if seed is not None else copy.deepcopy(env.unwrapped.np_random),
    }
    obs, info = _trim(*env.reset(seed=seed, options=options or None), drop)
    return obs, info, record


def _replay_reset(env: gym.Env, record: dict, drop: Drop = NO_DROP) -> tuple[Any, dict, dict]:
    if record["seed"] is None:
        env.unwrapped.np_random = copy.deepcopy(record["np_random"])
    return _reset(env, record["seed"], record["options"], drop)


def _step_and_reset(
    env: gym.Env, action: np.ndarray, drop: Drop = NO_DROP
) -> tuple[Any, float, dict, dict, dict]:
    start = time.perf_counter()
    _, reward, _, _, info = env.step(action)
    info = _trim_info(info, reward, start)
    obs, reset_info, record = _reset(env, None, None, drop)
    return obs, float(reward), info, reset_info, record


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker process (the ``__cause__`` of the
    exception re-raised in the learner)."""


def _handle(env: gym.Env, cmd: str, data: Any, drop: Drop = NO_DROP) -> Any:
    if cmd == "step":
        return _step_and_reset(env, data, drop)
    if cmd == "reset":
        seed, options = data
        return _reset(env, seed, options, drop)
    if cmd == "replay_reset":
        return _replay_reset(env, data, drop)
    if cmd == "get_attr":
        return getattr(env.unwrapped, data) if not hasattr(env, data) else getattr(env, data)
    if cmd == "set_attr":
        return setattr(env.unwrapped, data[0], data[1])
    if cmd == "env_method":
        name, args, kwargs = data
        return getattr(env.unwrapped, name)(*args, **kwargs)
    if cmd == "is_wrapped":
        from stable_baselines3.common.env_util import is_wrapped

        return is_wrapped(env, data)
    raise NotImplementedError(f"unknown worker command {cmd!r}")


def _error_message(error: BaseException) -> tuple[str, Any]:
    """("error", (exception, traceback text)); an exception that cannot be pickled is sent as a
    RuntimeError naming its type and message."""
    text = traceback.format_exc()
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any pickling failure: send a description instead
        error = RuntimeError(f"{type(error).__name__}: {error}")
    return "error", (error, text)


class EnvServer:
    """One environment behind the worker protocol, shared by worker processes and Ray actors.

    Builds the env from ``env_fn``; an exception while building it is kept and sent as the reply
    to every command (the learner re-raises it on the first one). Every reply is ("ok", result)
    or ("error", (exception, traceback text)), and the server stays up after an error.
    """

    def __init__(self, env_fn: Callable[[], gym.Env]) -> None:
        self.env: gym.Env | None = None
        self.failure: tuple[str, Any] | None = None
        self.drop: Drop = NO_DROP
        try:
            self.env = env_fn()
        except Exception as error:  # noqa: BLE001 - reported to the learner on its first command
            self.failure = _error_message(error)

    def __call__(self, cmd: str, data: Any) -> tuple[str, Any]:
        if self.failure is not None:
            return self.failure
        if cmd == "trim":  # what to leave out of observations/reset infos from now on
            self.drop = data
            return "ok", None
        try:
            return "ok", _handle(self.env, cmd, data, self.drop)
        except Exception as error:  # noqa: BLE001 - re-raised in the learner
            return _error_message(error)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()


def one_torch_thread() -> None:
    """Env workers use one torch thread: more stall the learner on a shared core (issue 13)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is installed with the agent
        pass


def _worker(remote: Any, parent_remote: Any, env_fn_wrapper: CloudpickleWrapper) -> None:
    """Serve commands until "close" (see :class:`EnvServer`)."""
    parent_remote.close()
    one_torch_thread()
    server = EnvServer(env_fn_wrapper.var)
    try:
        while True:
            try:
                cmd, data = remote.recv()
            except EOFError:  # the learner is gone
                break
            if cmd == "close":
                server.close()
                remote.close()
                break
            remote.send(server(cmd, data))
    except KeyboardInterrupt:  # pragma: no cover
        pass


def _receive(remotes: Sequence[Any], indices: Sequence[int]) -> list[Any]:
    """One reply from each of ``remotes`` (all of them, so the pipes stay in step), then
    re-raise the first worker exception with its worker traceback as the cause."""
    replies = []
    for index, remote in zip(indices, remotes, strict=True):
        try:
            replies.append(remote.recv())
        except (EOFError, ConnectionResetError) as error:
            raise RuntimeError(
                f"GraphVecEnv worker {index} died without a reply (killed or crashed)"
            ) from error
    for status, payload in replies:
        if status == "error":
            error, text = payload
            raise error from WorkerTraceback(text)
    return [payload for _, payload in replies]


class GraphVecEnv(VecEnv):
    """Several graph environments stepped together, in-process or in worker processes.

    :param env_fns: one zero-argument callable per environment that builds it (picklable, e.g.
        :class:`EnvFactory`, when ``n_workers > 0``).
    :param n_workers: 0 runs all envs in this process; otherwise each env gets its own worker
        process (``n_workers`` must equal ``len(env_fns)``).
    :param start_method: multiprocessing start method ("forkserver", "spawn" or "fork").

    An exception in a worker (env construction, reset, step, ...) is re-raised here with its
    type and message and the worker's traceback as ``__cause__`` (:class:`WorkerTraceback`);
    the worker keeps serving, so ``reset()`` continues after e.g. a bad action.
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env]],
        n_workers: int = 0,
        start_method: str = "forkserver",
    ) -> None:
        if not env_fns:
            raise ValueError("GraphVecEnv needs at least one environment")
        self._check_workers(n_workers, len(env_fns))
        self.n_workers = n_workers
        self.envs: list[gym.Env] = []
        self.remotes: list[Any] = []
        self.processes: list[Any] = []
        self.closed = False
        self._actions: list[np.ndarray] | None = None
        self._drop: Drop = NO_DROP
        #: Per env, how to repeat its last reset exactly (see :meth:`replay_resets`).
        self.reset_records: list[dict] = []
        if n_workers == 0:
            self.envs = [fn() for fn in env_fns]
            observation_space = self.envs[0].observation_space
            action_space = self.envs[0].action_space
        else:
            self._start_workers(env_fns, start_method)
            try:
                for remote in self.remotes:
                    remote.send(("get_attr", "observation_space"))
                observation_space = _receive(self.remotes, range(len(self.remotes)))[0]
                self.remotes[0].send(("get_attr", "action_space"))
                action_space = _receive(self.remotes[:1], [0])[0]
            except BaseException:
                self.close()
                raise
        super().__init__(len(env_fns), observation_space, action_space)

    @staticmethod
    def _check_workers(n_workers: int, n_envs: int) -> None:
        if n_workers not in (0, n_envs):
            raise ValueError("n_workers must be 0 (in-process) or the number of environments")

    def _start_workers(self, env_fns: Sequence[Callable[[], gym.Env]], start_method: str) -> None:
        """One worker process per env; :attr:`remotes` are their pipe ends (``send``/``recv``)."""
        ctx = mp.get_context(start_method)
        pairs = [ctx.Pipe() for _ in env_fns]
        self.remotes = [parent for parent, _ in pairs]
        for (parent, child), fn in zip(pairs, env_fns, strict=True):
            proc = ctx.Process(
                target=_worker, args=(child, parent, CloudpickleWrapper(fn)), daemon=True
            )
            proc.start()
            self.processes.append(proc)
            child.close()

    # -------------------------------------------------------------- stepping
    def reset(self) -> list[dict[str, Any]]:
        if self.n_workers == 0:
            results = [
                _reset(env, self._seeds[i], self._options[i], self._drop)
                for i, env in enumerate(self.envs)
            ]
        else:
            for i, remote in enumerate(self.remotes):
                remote.send(("reset", (self._seeds[i], self._options[i])))
            results = _receive(self.remotes, range(self.num_envs))
        self._reset_seeds()
        self._reset_options()
        return self._after_resets(results)

    def _after_resets(self, results: list[tuple[Any, dict, dict]]) -> list[dict[str, Any]]:
        self.reset_infos = [info for _, info, _ in results]
        self.reset_records = [record for _, _, record in results]
        return [obs for obs, _, _ in results]

    def replay_resets(self, records: Sequence[dict]) -> list[dict[str, Any]]:
        """Repeat the resets described by ``records`` (a saved :attr:`reset_records`): every
        env returns the observation it returned then and its generator continues as it did.

        Used to resume training bit-identically: the envs come back to where they were at a
        checkpoint without pickling them or their observations. Pending ``seed()`` values
        are dropped.
        """
        if len(records) != self.num_envs:
            raise ValueError(f"got {len(records)} reset records for {self.num_envs} envs")
        if self.n_workers == 0:
            results = [
                _replay_reset(env, r, self._drop) for env, r in zip(self.envs, records, strict=True)
            ]
        else:
            for remote, record in zip(self.remotes, records, strict=True):
                remote.send(("replay_reset", record))
            results = _receive(self.remotes, range(self.num_envs))
        self._reset_seeds()
        self._reset_options()
        return self._after_resets(results)

    def step_async(self, actions: Sequence[np.ndarray]) -> None:
        if len(actions) != self.num_envs:
            raise ValueError(f"expected {self.num_envs} actions, got {len(actions)}")
        if self.n_workers == 0:
            self._actions = list(actions)
        else:
            for remote, action in zip(self.remotes, actions, strict=True):
                remote.send(("step", np.asarray(action)))

    def step_wait(self) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray, list[dict]]:
        if self.n_workers == 0:
            results = [
                _step_and_reset(env, action, self._drop)
                for env, action in zip(self.envs, self._actions, strict=True)
            ]
            self._actions = None
        else:
            results = _receive(self.remotes, range(self.num_envs))
        obs = self._after_resets([(r[0], r[3], r[4]) for r in results])
        rewards = np.array([r[1] for r in results], dtype=np.float32)
        infos = [r[2] for r in results]
        return obs, rewards, np.ones(self.num_envs, dtype=bool), infos

    def trim_payload(
        self,
        observation_keys: Sequence[str] = TRIMMED_OBS_KEYS,
        reset_info_keys: Sequence[str] = TRIMMED_RESET_INFO_KEYS,
    ) -> None:
        """Leave these entries out of the observations and reset infos from now on.

        The workers drop them before sending, so they are never pickled or copied between
        processes (an agent on env node features needs only ``graph`` and ``subgraphs``;
        :class:`~stateless_sac.StatelessSAC` calls this unless its policy uses pixels).
        Pass empty sequences to send everything again.
        """
        self._drop = (tuple(observation_keys), tuple(reset_info_keys))
        for remote in self.remotes:
            remote.send(("trim", self._drop))
        _receive(self.remotes, range(len(self.remotes)))

    def close(self) -> None:
        if self.closed:
            return
        if self.n_workers == 0:
            for env in self.envs:
                env.close()
        else:
            for remote in self.remotes:
                try:
                    remote.send(("close", None))
                except (BrokenPipeError, EOFError):  # pragma: no cover
                    pass
            for proc in self.processes:
                proc.join(timeout=5)
                if proc.is_alive():  # pragma: no cover
                    proc.terminate()
        self.closed = True

    # ------------------------------------------------------------- attributes
    def _call(self, cmd: str, data: Any, indices: Any) -> list[Any]:
        idx = list(self._get_indices(indices))
        for i in idx:
            self.remotes[i].send((cmd, data))
        return _receive([self.remotes[i] for i in idx], idx)

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        if self.n_workers == 0:
            return [
                getattr(self.envs[i], attr_name)
                if hasattr(self.envs[i], attr_name)
                else getattr(self.envs[i].unwrapped, attr_name)
                for i in self._get_indices(indices)
            ]
        return self._call("get_attr", attr_name, indices)

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        if self.n_workers == 0:
            for i in self._get_indices(indices):
                setattr(self.envs[i].unwrapped, attr_name, value)
        else:
            self._call("set_attr", (attr_name, value), indices)

    def env_method(self, method_name: str, *method_args, indices: Any = None, **method_kwargs):
        if self.n_workers == 0:
            return [
                getattr(self.envs[i].unwrapped, method_name)(*method_args, **method_kwargs)
                for i in self._get_indices(indices)
            ]
        return self._call("env_method", (method_name, method_args, method_kwargs), indices)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: Any = None) -> list[bool]:
        if self.n_workers == 0:
            from stable_baselines3.common.env_util import is_wrapped

            return [is_wrapped(self.envs[i], wrapper_class) for i in self._get_indices(indices)]
        return self._call("is_wrapped", wrapper_class, indices)


def make_graph_vec_env(
    env_id: str = "SuperpixelSeg-Circles-v0",
    n_envs: int = 2,
    env_kwargs: dict[str, Any] | None = None,
    subprocess: bool = False,
    start_method: str = "forkserver",
    *,
    ray_address: str | None = None,
    ray_workers: int | None = None,
) -> GraphVecEnv:
    """Build ``n_envs`` copies of ``env_id``, like SB3's ``make_vec_env``.

    The default runs them in this process (SB3's ``DummyVecEnv`` default);
    ``subprocess=True`` runs each in its own worker process (SB3's ``SubprocVecEnv``), which
    needs the calling script to have an ``if __name__ == "__main__":`` guard.
    ``ray_address`` (``"local"``, ``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"``) runs
    them in ``ray_workers`` Ray actors instead (default: one per env; ``subprocess`` is then
    ignored): a :class:`~stateless_sac.ray_vec_env.RayGraphVecEnv`, which gives the same
    observations and rewards under the same seeds.

    The result also serves SB3's ``evaluate_policy`` and ``EvalCallback``, which wrap a plain
    Gymnasium env in a ``DummyVecEnv`` that cannot hold graph observations.
    """
    fns = [EnvFactory(env_id, env_kwargs) for _ in range(n_envs)]
    if ray_address is not None:
        from stateless_sac.ray_vec_env import RayGraphVecEnv

        return RayGraphVecEnv(fns, n_workers=ray_workers, address=ray_address)
    return GraphVecEnv(fns, n_workers=n_envs if subprocess else 0, start_method=start_method)
