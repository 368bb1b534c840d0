"""Tutorial: segment real nuclei with a prior you write yourself.

Read top to bottom; docs/tutorial.md renders it section by section with its figures. Run it
from any folder (it writes ``tutorial_*.png`` there), after ``pip install
"gym-superpixel-seg[agents]"``::

    python examples/tutorial.py

About 2 minutes on a 2-core CPU, most of it the agent's short training (``TRAIN_STEPS``).
"""

# Each section imports what it uses, so that it reads on its own on the docs page.
# ruff: noqa: E402

# --8<-- [start:data]
import gymnasium as gym
import matplotlib

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt
import numpy as np
from skimage.segmentation import find_boundaries

import gym_superpixel_seg  # noqa: F401  (registers the environments)
from gym_superpixel_seg.microscopy_envs import sample_folder

# Four fluorescence images of the DSB 2018 challenge (CC0) with their annotations, bundled
# with the package: images/ and labels/ matched by file name. Your own folder works the same.
folder = sample_folder("nuclei")
print(sorted(path.name for path in (folder / "images").iterdir()))

# The dataset folder (images/ + labels/), whole images (crop_size=None); the labels only
# serve the metrics below, never the reward.
env = gym.make("SuperpixelSeg-Nuclei-v0", images=folder, crop_size=None)
obs, info = env.reset(seed=0, options={"index": 1})
image = env.unwrapped.current_image  # (H, W, 1) in [0, 1], normalised by its percentiles
superpixels = env.unwrapped.current_superpixels  # (H, W) ids 0..N-1
truth = info["ground_truth"]
print(f"{superpixels.max() + 1} superpixels, {info['n_edges']} edges, {truth.max()} nuclei")

fig, axes = plt.subplots(1, 3, figsize=(12, 4.4), layout="constrained")
axes[0].imshow(image[..., 0], cmap="gray")
axes[0].set_title("image")
axes[1].imshow(image[..., 0], cmap="gray")
axes[1].contour(find_boundaries(superpixels), levels=[0.5], colors="yellow", linewidths=0.4)
axes[1].set_title(f"{superpixels.max() + 1} superpixels")
axes[2].imshow(np.ma.masked_equal(truth, 0), cmap="tab20", interpolation="nearest")
axes[2].set_title(f"annotation ({truth.max()} nuclei)")
for ax in axes:
    ax.set_axis_off()
fig.savefig("tutorial_superpixels.png", dpi=80)
plt.close(fig)
# --8<-- [end:data]

# --8<-- [start:prior]
from seg_rewards import NucleiReward, Prior
from seg_rewards.priors import check_fraction


class EvenStainPrior(Prior):
    """A nucleus is evenly stained: the spread of its pixel values is small.

    Score 1 when the coefficient of variation (std / mean) of the object's intensity is at
    most ``low``, 0 from ``high`` on, linear in between. A nucleus merged with dark background
    or cut through a dim gap has a large spread.
    """

    requires = ("index", "area", "mean_intensity")

    def __init__(self, *, low: float = 0.25, high: float = 0.6) -> None:
        self.low = check_fraction("low", low)
        self.high = check_fraction("high", high)
        if self.high <= self.low:
            raise ValueError(f"high must be above low, got low={low}, high={high}")

    def score(self, m):
        gray = m.image.mean(axis=2).ravel()  # Measurements hold the image as (H, W, C)
        mean = m.mean_intensity.mean(axis=1)  # (M,) one value per object
        squares = np.bincount(m.index, weights=gray**2, minlength=m.n_objects)
        std = np.sqrt(np.maximum(squares / np.maximum(m.area, 1) - mean**2, 0.0))
        spread = std / np.maximum(mean, 1e-6)
        return (self.high - spread) / (self.high - self.low)  # clipped to [0, 1] by Prior


# The nuclei preset (diameter, convexity, brighter than the surroundings, cuts on darker
# pixels; the largest object is the background) with the new prior multiplied in.
reward = NucleiReward(min_diameter=8, max_diameter=60, extra=[EvenStainPrior()])
print(reward)
# --8<-- [end:prior]

# --8<-- [start:env]
env = gym.make("SuperpixelSeg-Nuclei-v0", images=folder, crop_size=None, reward=reward)
# --8<-- [end:env]

# --8<-- [start:alignment]
from gym_superpixel_seg.alignment import (
    format_alignment_table,
    load_labelled_folder,
    reward_alignment,
)
from gym_superpixel_seg.baselines import classic_nuclei
from gym_superpixel_seg.microscopy import nuclei_superpixels

names, images, labels = load_labelled_folder(folder / "images", folder / "labels")
for name, candidate in [("preset", NucleiReward()), ("preset x EvenStainPrior", reward)]:
    table = reward_alignment(
        candidate,
        images,
        labels,
        superpixel_fn=nuclei_superpixels,  # the environment's superpixels
        baselines={"classic": classic_nuclei},  # smoothing + Otsu + watershed
        seeds=(0,),
    )
    print(f"\n{name}\n{format_alignment_table(table)}")
# --8<-- [end:alignment]

# --8<-- [start:baseline]
from gym_superpixel_seg.metrics import segmentation_metrics

# The classic pipeline (smoothing, Otsu threshold, distance-transform watershed) on pixels:
# the yardstick a fitted agent has to beat. 0 = background in its output.
classic = classic_nuclei(image)
classic_metrics = segmentation_metrics(classic, truth, background="zero")
print(f"classic pipeline: SBD {classic_metrics['sbd']:.3f}, mSA {classic_metrics['msa']:.3f}")

# The best any action can do on these superpixels: cut exactly between annotated nuclei (needs
# the labels, so it is a bound, not a method).
obs, info = env.reset(seed=0, options={"index": 1})
_, bound_reward, _, _, bound_info = env.step(env.unwrapped.ground_truth_action())
metrics = bound_info["metrics"]
print(f"superpixel bound: reward {bound_reward:.3f}, SBD {metrics['sbd']:.3f}")
# --8<-- [end:baseline]

# --8<-- [start:agent]
from stateless_sac import StatelessSAC

TRAIN_STEPS = 600  # one image crop per step; about a minute on a 2-core CPU
train_env = gym.make(
    "SuperpixelSeg-Nuclei-v0",
    images=folder / "images",
    crop_size=128,  # random 128 x 128 crops: small graphs, fast steps
    reward=reward,
    compute_metrics=False,  # training never looks at labels
)
model = StatelessSAC(
    "GNNPolicy",
    train_env,
    seed=0,
    learning_starts=100,
    batch_size=4,
    ent_coef="auto_0.01",
    policy_kwargs={"hidden_dim": 32},
)
model.learn(total_timesteps=TRAIN_STEPS)
model.save("tutorial_agent.zip")

obs, info = env.reset(seed=0, options={"index": 1})
action, _ = model.predict(obs, deterministic=True)  # one weight per edge, 1 = cut
_, agent_reward, _, _, agent_info = env.step(action)
metrics = agent_info["metrics"]
print(f"agent: reward {agent_reward:.3f}, SBD {metrics['sbd']:.3f}, mSA {metrics['msa']:.3f}")
# --8<-- [end:agent]

# --8<-- [start:figure]
panels = [
    ("annotation", truth, None),
    ("superpixel bound", bound_info["segmentation"], bound_info["metrics"]),
    ("classic pipeline", classic, classic_metrics),
    (f"agent, {TRAIN_STEPS} steps", agent_info["segmentation"], agent_info["metrics"]),
]
fig, axes = plt.subplots(1, 4, figsize=(16, 4.6), layout="constrained")
for ax, (title, segmentation, metrics) in zip(axes, panels, strict=True):
    ax.imshow(image[..., 0], cmap="gray")
    ax.contour(find_boundaries(segmentation), levels=[0.5], colors="yellow", linewidths=0.5)
    if metrics is not None:
        title += f"\nSBD {metrics['sbd']:.2f}, mSA {metrics['msa']:.2f}"
    ax.set_title(title)
    ax.set_axis_off()
fig.savefig("tutorial_segmentation.png", dpi=80)
plt.close(fig)
# --8<-- [end:figure]
