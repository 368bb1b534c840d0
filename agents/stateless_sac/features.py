"""Method 2: a U-Net pretrained self-supervised on superpixels, used as fixed env features.

The contrastive (discriminative) loss pulls every pixel embedding towards the mean embedding
of its superpixel (hinge ``delta_pull``) and pushes the means of *adjacent* superpixels apart
(hinge ``2 * delta_push``); no labels are used.

Pretrain::

    python -m stateless_sac.features --out unet.pt --steps 300
    python -m stateless_sac.features --out unet.pt --env-id SuperpixelSeg-Nuclei-v0 --images DIR

Use in the environment (pooled per superpixel into extra node features)::

    env = gymnasium.make("SuperpixelSeg-Circles-v0", **pixel_feature_env_kwargs("unet.pt"))
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time
from typing import Any

import numpy as np
import torch
from torch_geometric.utils import scatter

from stateless_sac.unet import UNet


def contrastive_superpixel_loss(
    embeddings: torch.Tensor,
    superpixels: torch.Tensor,
    edges: torch.Tensor,
    n_nodes: int,
    delta_pull: float = 0.1,
    delta_push: float = 0.5,
) -> torch.Tensor:
    """Pull pixels to their superpixel mean, push means of adjacent superpixels apart.

    :param embeddings: (B, D, H, W) pixel embeddings.
    :param superpixels: (B, H, W) global superpixel ids (offset per image).
    :param edges: (E, 2) pairs of adjacent superpixels (global ids).
    :param n_nodes: total number of superpixels in the batch.
    """
    flat = embeddings.permute(0, 2, 3, 1).reshape(-1, embeddings.shape[1])
    ids = superpixels.reshape(-1)
    means = scatter(flat, ids, dim=0, dim_size=n_nodes, reduce="mean")
    pull_px = (torch.linalg.vector_norm(flat - means[ids], dim=1) - delta_pull).clamp(min=0) ** 2
    pull = scatter(pull_px, ids, dim=0, dim_size=n_nodes, reduce="mean").mean()
    dist = torch.linalg.vector_norm(means[edges[:, 0]] - means[edges[:, 1]], dim=1)
    push = ((2 * delta_push - dist).clamp(min=0) ** 2).mean() if len(edges) else flat.sum() * 0
    regularizer = 1e-3 * torch.linalg.vector_norm(means, dim=1).mean()
    return pull + push + regularizer


def _batch_from_env(
    env: Any, seeds: list[int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    images, sps, edges, offset = [], [], [], 0
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        if (obs["superpixels"] < 0).any():
            raise ValueError(
                "the environment pads its images (whole images of different sizes); pretrain "
                "on crops of one size, e.g. env kwargs {'crop_size': 256}"
            )
        images.append(torch.as_tensor(obs["image"]).permute(2, 0, 1))
        sps.append(torch.as_tensor(obs["superpixels"]) + offset)
        edges.append(torch.as_tensor(obs["graph"].edge_links) + offset)
        offset += len(obs["graph"].nodes)
    return torch.stack(images), torch.stack(sps), torch.cat(edges), offset


def pretrain_unet(
    env_id: str = "SuperpixelSeg-Circles-v0",
    env_kwargs: dict[str, Any] | None = None,
    steps: int = 300,
    batch_size: int = 4,
    n_images: int = 64,
    out_channels: int = 8,
    base_channels: int = 8,
    lr: float = 3e-3,
    seed: int = 0,
    verbose: bool = True,
) -> UNet:
    """Train a :class:`UNet` with :func:`contrastive_superpixel_loss` on env images."""
    import gymnasium as gym

    import gym_superpixel_seg  # noqa: F401

    torch.manual_seed(seed)
    env = gym.make(env_id, **{**(env_kwargs or {}), "compute_metrics": False})
    # A fixed pool of images (reset is the slow part), drawn from seeds disjoint from evaluation.
    pool = [_batch_from_env(env, [seed * 10_000 + 50_000 + i]) for i in range(n_images)]
    net = UNet(env.observation_space["image"].shape[-1], out_channels, base_channels)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    start = time.time()
    for step in range(steps):
        picks = rng.choice(n_images, size=batch_size, replace=False)
        imgs, sps, edges, offset = [], [], [], 0
        for i in picks:
            img, sp, edge, n = pool[i]
            imgs.append(img)
            sps.append(sp + offset)
            edges.append(edge + offset)
            offset += n
        loss = contrastive_superpixel_loss(
            net(torch.cat(imgs)), torch.cat(sps), torch.cat(edges), offset
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        if verbose and (step % 50 == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {loss.item():.4f}  ({time.time() - start:.0f}s)")
    return net.eval()


def save_unet(net: UNet, path: str | pathlib.Path) -> None:
    torch.save(
        {
            "kwargs": {
                "in_channels": net.in_channels,
                "out_channels": net.out_channels,
                "base_channels": net.base_channels,
                "depth": net.depth,
            },
            "state_dict": net.state_dict(),
        },
        path,
    )


class UNetPixelFeatures:
    """Picklable ``image (H, W, C) -> (H, W, D)`` embedding function for ``pixel_feature_fn``.

    The network is loaded lazily (also inside env worker processes).

    :param path: a file written by :func:`save_unet` (``python -m stateless_sac.features``).
    """

    def __init__(self, path: str | pathlib.Path) -> None:
        self.path = str(path)
        self._net: UNet | None = None
        self.n_features = int(self._checkpoint()["kwargs"]["out_channels"])

    def _checkpoint(self) -> dict[str, Any]:
        try:
            return torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any load failure is a bad file
            raise ValueError(f"{self.path} is not a U-Net feature checkpoint: {e}") from e

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_net": None, "n_features": self.n_features}

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self._net is None:
            ckpt = self._checkpoint()
            self._net = UNet(**ckpt["kwargs"])
            self._net.load_state_dict(ckpt["state_dict"])
            self._net.eval()
        if np.ndim(image) != 3 or np.shape(image)[2] != self._net.in_channels:
            raise ValueError(
                f"{self.path} embeds images with {self._net.in_channels} channel(s); got an image "
                f"of shape {np.shape(image)}"
            )
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
            return self._net(x)[0].permute(1, 2, 0).numpy()


def pixel_feature_env_kwargs(path: str | pathlib.Path) -> dict[str, Any]:
    """Env keyword arguments that add the pretrained U-Net's embeddings to the node features."""
    fn = UNetPixelFeatures(path)
    return {"pixel_feature_fn": fn, "n_pixel_features": fn.n_features}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Pretrain the Method 2 U-Net (contrastive).")
    parser.add_argument("--out", required=True, help="output .pt file")
    parser.add_argument("--env-id", default="SuperpixelSeg-Circles-v0")
    parser.add_argument(
        "--steps",
        type=int,
        default=300,
        help="contrastive updates; about 2 s each on a 2-core CPU (300: ~10 min)",
    )
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--n-images", type=int, default=64)
    parser.add_argument("--out-channels", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=None, help="Circles image side")
    parser.add_argument(
        "--images", default=None, help="folder of your images (folder envs: Nuclei, Membranes)"
    )
    parser.add_argument("--env-kwargs", type=json.loads, default=None, help="JSON dict")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    env_kwargs = dict(args.env_kwargs or {})
    if args.image_size:
        env_kwargs["image_size"] = args.image_size
    if args.images:  # no labels: pretraining is self-supervised
        env_kwargs.update(images=args.images, labels=None)
    net = pretrain_unet(
        args.env_id,
        env_kwargs,
        steps=args.steps,
        batch_size=args.batch_size,
        n_images=args.n_images,
        out_channels=args.out_channels,
        seed=args.seed,
    )
    save_unet(net, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
