"""A small U-Net for per-pixel embeddings, and pooling of pixel features per superpixel."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.GroupNorm(1, c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net with ``depth`` poolings; output has the input's spatial size.

    :param in_channels: image channels (3 for RGB).
    :param out_channels: embedding dimension D per pixel.
    :param base_channels: channels of the first level (doubled at each level).
    :param depth: number of down/up-sampling steps.
    """

    def __init__(
        self, in_channels: int = 3, out_channels: int = 8, base_channels: int = 8, depth: int = 2
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.base_channels, self.depth = base_channels, depth
        chans = [base_channels * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList([_block(in_channels, chans[0])])
        self.down.extend(_block(chans[i], chans[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.up_blocks = nn.ModuleList(
            _block(2 * chans[i], chans[i]) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(chans[0], out_channels, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) image -> (B, D, H, W) embeddings."""
        height, width = image.shape[-2:]
        mult = 2**self.depth
        pad_h, pad_w = (-height) % mult, (-width) % mult
        x = F.pad(image, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else image
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for up, block, skip in zip(self.up, self.up_blocks, reversed(skips[:-1]), strict=True):
            x = block(torch.cat([up(x), skip], dim=1))
        return self.head(x)[..., :height, :width]


def pool_per_superpixel(
    features: torch.Tensor, superpixels: torch.Tensor, n_nodes: int
) -> torch.Tensor:
    """Mean of (B, D, H, W) pixel features per node; ``superpixels`` (B, H, W) holds global node ids."""
    from torch_geometric.utils import scatter  # here: importing torch_geometric costs ~2 s

    flat = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    return scatter(flat, superpixels.reshape(-1), dim=0, dim_size=n_nodes, reduce="mean")
