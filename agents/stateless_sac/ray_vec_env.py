"""Rollout workers as Ray actors: :class:`RayGraphVecEnv`, for training beyond one machine.

A :class:`RayGraphVecEnv` is a :class:`~stateless_sac.vec_env.GraphVecEnv` whose workers are
Ray actors instead of local processes, so the learner (:class:`~stateless_sac.StatelessSAC`,
SB3's collect loop, checkpoints and ``--resume``) is unchanged: it sends every env its action
and pulls the transitions back, as RLlib's env runners do. Each actor holds one or more
environments (contiguous blocks of ``env_fns``, as even as possible), every one an
:class:`~stateless_sac.vec_env.EnvServer` answering the commands of the process workers.

Same seeds, same results: an actor runs exactly the env code a worker process runs, on the
same seeds, and the messages travel pickled both ways as through a pipe (so the learner gets
ordinary writable arrays, not read-only views pinned in Ray's object store). Observations,
rewards and trained weights are therefore identical to the multi-process vector env's; the
tests check this on a local Ray. Envs of one actor step one after the other; actors run in
parallel.

Addresses (``--ray-address``): ``"local"`` starts a Ray on this machine (shut down again by
:meth:`RayGraphVecEnv.close`), ``"auto"`` joins the cluster this node belongs to (after
``ray start``), ``"HOST:PORT"`` the cluster whose head is there, and ``"ray://HOST:PORT"``
connects through Ray Client. When Ray is already initialised in this process, that Ray is
used whatever the address. Every node needs this package and its ``[agents]`` extra
installed, with the same Python and Ray versions as the driver.
"""

from __future__ import annotations

import os
import pickle
import socket
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym

from stateless_sac.vec_env import EnvServer, GraphVecEnv, one_torch_thread

#: The extra that installs Ray (pyproject.toml); named by the error when Ray is missing.
RAY_EXTRA = "pip install 'gym-superpixel-seg[distributed]'"


def import_ray(what: str = "--ray-address") -> Any:
    """The ``ray`` module, or an ImportError naming the ``[distributed]`` extra."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(f"{what} needs Ray: {RAY_EXTRA}") from error
    return ray


def _check_reachable(address: str, timeout_s: float) -> None:
    """Fail fast on ``HOST:PORT`` / ``ray://HOST:PORT`` nobody listens on (``ray.init`` would
    retry for minutes or tens of seconds before giving up)."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return  # not HOST:PORT: leave the address to Ray
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise ConnectionError(
            f"cannot reach the Ray cluster at {address!r} ({error}); start one with "
            "`ray start --head` there, or use --ray-address local"
        ) from error


def init_ray(
    address: str, *, workers: int = 1, connect_timeout_s: float = 10.0, log_to_driver: bool = True
) -> bool:
    """Start or join Ray for ``address`` unless this process has already initialised it.

    Args:
        address: ``"local"`` (start a Ray here with at least ``workers`` logical CPUs, so that
            every actor gets one even on a smaller machine), ``"auto"``, ``"HOST:PORT"`` or
            ``"ray://HOST:PORT"`` (join an existing cluster).
        workers: actors that will need a CPU each (only sizes a local start).
        connect_timeout_s: how long to wait for ``HOST:PORT`` to accept a connection.
        log_to_driver: show the actors' output here (``ray.init``'s option).

    Returns:
        True when this call started or joined Ray (the caller then shuts it down).

    Raises:
        ImportError: Ray is not installed (the message names the ``[distributed]`` extra).
        ConnectionError: no Ray cluster at ``address`` (the message names the address).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(
            address="local",
            num_cpus=max(workers, os.cpu_count() or 1),
            include_dashboard=False,
            log_to_driver=log_to_driver,
        )
        return True
    _check_reachable(address, connect_timeout_s)
    try:
        ray.init(address=address, log_to_driver=log_to_driver)
    except ConnectionError as error:
        raise ConnectionError(f"cannot reach the Ray cluster at {address!r}: {error}") from error
    return True


class EnvWorker:
    """A Ray actor's state: the :class:`EnvServer` of each of its envs (messages pickled)."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]) -> None:
        one_torch_thread()
        self.servers = [EnvServer(fn) for fn in env_fns]

    def ready(self) -> bool:
        return True

    def handle(self, slot: int, message: bytes) -> bytes:
        cmd, data = pickle.loads(message)
        return pickle.dumps(self.servers[slot](cmd, data))

    def close(self) -> None:
        for server in self.servers:
            server.close()


class RayRemote:
    """One env of an actor seen as the learner's end of a worker pipe (``send``/``recv``).

    ``send`` submits the command as an actor task; ``recv`` waits for the oldest one. An actor
    runs its tasks in submission order, so replies come back in the order of the commands.
    """

    def __init__(self, actor: Any, slot: int) -> None:
        self.actor, self.slot = actor, slot
        self.pending: deque[Any] = deque()

    def send(self, message: tuple[str, Any]) -> None:
        self.pending.append(self.actor.handle.remote(self.slot, pickle.dumps(message)))

    def recv(self) -> tuple[str, Any]:
        ray = import_ray()
        ref = self.pending.popleft()
        try:
            return pickle.loads(ray.get(ref))
        except ray.exceptions.RayActorError as error:  # read by _receive as a dead worker
            raise EOFError(str(error)) from error


class RayGraphVecEnv(GraphVecEnv):
    """A :class:`~stateless_sac.vec_env.GraphVecEnv` whose envs live in Ray actors.

    :param env_fns: one picklable zero-argument callable per environment (e.g.
        :class:`~stateless_sac.vec_env.EnvFactory`); needs to be importable on every node.
    :param n_workers: number of actors (default: one per env); envs are split into contiguous
        blocks, one per actor.
    :param address: Ray to start or join when this process has not initialised Ray
        (see :func:`init_ray`; default ``"local"``).
    :param num_cpus: CPUs Ray reserves for each actor.
    :param start_timeout_s: how long to wait for the actors to start (on a cluster without
        free CPUs they would wait forever).

    Raises:
        ImportError: Ray is not installed.
        ConnectionError: no Ray cluster at ``address``.
        ValueError: ``n_workers`` outside 1..number of envs.
        TimeoutError: the actors did not start within ``start_timeout_s``.
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env]],
        n_workers: int | None = None,
        *,
        address: str = "local",
        num_cpus: float = 1.0,
        start_timeout_s: float = 300.0,
    ) -> None:
        self.address, self.num_cpus, self.start_timeout_s = address, num_cpus, start_timeout_s
        self.actors: list[Any] = []
        self._started_ray = False
        super().__init__(env_fns, n_workers=len(env_fns) if n_workers is None else n_workers)

    @staticmethod
    def _check_workers(n_workers: int, n_envs: int) -> None:
        if not 1 <= n_workers <= n_envs:
            raise ValueError(f"n_workers must be 1..{n_envs} (the number of envs), got {n_workers}")

    def _start_workers(self, env_fns: Sequence[Callable[[], gym.Env]], start_method: str) -> None:
        del start_method  # Ray starts the actor processes
        ray = import_ray()
        self._started_ray = init_ray(self.address, workers=self.n_workers)
        actor_class = ray.remote(num_cpus=self.num_cpus)(EnvWorker)
        blocks = _blocks(len(env_fns), self.n_workers)
        self.actors = [actor_class.remote([env_fns[i] for i in block]) for block in blocks]
        self.remotes = [
            RayRemote(actor, slot)
            for actor, block in zip(self.actors, blocks, strict=True)
            for slot in range(len(block))
        ]
        _, waiting = ray.wait(
            [actor.ready.remote() for actor in self.actors],
            num_returns=len(self.actors),
            timeout=self.start_timeout_s,
        )
        if waiting:
            cpus = ray.cluster_resources().get("CPU", 0)
            self.close()
            raise TimeoutError(
                f"{len(waiting)} of {self.n_workers} Ray env workers did not start within "
                f"{self.start_timeout_s:g} s; each needs {self.num_cpus:g} CPU and the cluster "
                f"has {cpus:g}"
            )

    def close(self) -> None:
        if self.closed:
            return
        ray = import_ray()
        if self.actors and ray.is_initialized():
            try:  # close the envs, then end the actors whatever happened
                ray.get([actor.close.remote() for actor in self.actors], timeout=10)
            except Exception:  # noqa: BLE001 - a dead or stuck actor is killed below
                pass
            for actor in self.actors:
                ray.kill(actor)
        self.actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
        self.closed = True


def _blocks(n_envs: int, n_workers: int) -> list[list[int]]:
    """``range(n_envs)`` as ``n_workers`` contiguous blocks whose sizes differ by at most 1."""
    size, extra = divmod(n_envs, n_workers)
    bounds = [0]
    for w in range(n_workers):
        bounds.append(bounds[-1] + size + (w < extra))
    return [list(range(a, b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
