"""The noise-structure stage (E2-E5, docs/spec.md §1.5-1.6) of one (experiment, setting), every seed:

- alpha(theta_t) = alignment of the block Hessian H and the dropout covariance Sigma at every
  checkpoint, from ``alignment_masks`` gradients;
- at theta* (the trajectory's start): Sigma from K gradients, the spectra of H and Sigma, the
  trajectory's PCA, and the interval flatness of the top directions of each (random gradient
  data, trajectory data, Hessian eigenvectors) for every flatness factor;
- the Monte Carlo draws of both null models of alpha at theta*;
- the trajectory window's diagnosis (``trajectory.Window``, ``trajectory.training_window``) and
  the PCA of the window raw, detrended and as its deviation from dropout's mean-field path (GD on
  the loss averaged over ``reference_masks`` masks a step, from theta*: ``noise.paths``), for
  the drift handlings of ``noise.trajectory``.

Every random draw comes from the named streams of ``noise.streams``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .. import models
from ..io import Laps
from . import hessian
from .estimators import (covariance, low_rank_stats, sigma_fro_sq, sketched_pca,
                         spectrum)
from .flatness import flatness
from .masks import mask_gradient_batches, mask_gradients
from .paths import continue_run
from .nulls import null_centred_wishart, null_same_spectra, same_spectra_moments, wishart_null_sd
from .problem import Problem, at_checkpoint
from .streams import stream
from .trajectory import FLUCTUATION, RAW, Window, training_window


def dense_stats(H, S) -> dict:
    """alpha's ingredients from the B x B matrices (float64 on the host)."""
    h64, s64 = H.double().cpu(), S.double().cpu()
    return {"tr_h": float(h64.trace()), "fro_h": float(h64.norm()),
            "tr_s": float(s64.trace()), "fro_s": float(s64.norm()),
            "tr_hs": float((h64 * s64).sum())}


class Stage:
    """One setting's analysis; ``run`` returns its tidy frames."""

    def __init__(self, spec: dict, x, y, checkpoints: dict, trajectory: dict, log=print,
                 metrics: pd.DataFrame | None = None):
        self.spec, self.x, self.y, self.checkpoints, self.trajectory = (spec, x, y, checkpoints,
                                                                        trajectory)
        self.metrics = metrics
        self.log = log
        self.steps = [int(s) for s in checkpoints["steps"]]
        self.seeds = [int(s) for s in checkpoints["seeds"]]
        self.star = spec["theta_star"]
        self.top, self.small = spec["directions"], spec["alignment_masks"]
        self.low_rank = spec.get("hessian", "full") == "lanczos"
        first = {k: v[0, 0] for k, v in checkpoints["params"].items()}
        self.B = models.block_vector(first, spec["block"]).numel()
        self.label = {"experiment": spec["experiment"], "setting": spec["setting"],
                      "keep_prob": spec["keep_prob"], "lr": spec["lr"], "mask": spec["mask"]}

    def problem(self, step: int, seed: int) -> Problem:
        return at_checkpoint(self.spec, self.x, self.y, self.checkpoints, step, seed)

    def gradients(self, problem: Problem, K: int, gen) -> torch.Tensor:
        s = self.spec
        return mask_gradients(problem, s["keep_prob"], s["mask"], K, gen, batch=s["batch"])

    def top_hessian(self, problem: Problem, seed: int):
        return hessian.lanczos_top(problem.loss_fn(), problem.theta, self.top, seed=seed,
                                   hvp=hessian.problem_hvp(problem))

    def align_row(self, st: dict, fro_sq: float, step: int, seed: int, K: int) -> dict:
        B = self.B
        mean2, sd2 = same_spectra_moments(st["tr_h"], st["fro_h"], st["tr_s"], st["fro_s"], B)
        debiased = st["tr_hs"] / (st["fro_h"] * np.sqrt(fro_sq)) if fro_sq > 0 else np.nan
        return {**self.label, "seed": seed, "step": step, "masks": K, "block": self.spec["block"],
                "block_size": B, "hessian": "lanczos top-%d" % self.top if self.low_rank
                else "full",
                "alpha": st["tr_hs"] / (st["fro_h"] * st["fro_s"]),
                "alpha_debiased": debiased, "trace_h": st["tr_h"], "fro_h": st["fro_h"],
                "trace_s": st["tr_s"], "fro_s": st["fro_s"],
                "fro_s_debiased": np.sqrt(fro_sq) if fro_sq > 0 else np.nan,
                "wishart_sd": wishart_null_sd(B), "spectra_mean": mean2, "spectra_sd": sd2}

    def along_training(self, seed: int) -> list[dict]:
        """alpha(theta_t) at every checkpoint but theta*, from ``alignment_masks`` gradients."""
        rows = []
        for step in self.steps:
            if step == self.star:
                continue
            problem = self.problem(step, seed)
            G = self.gradients(problem, self.small, stream(self.spec, "alignment_masks", seed,
                                                           step))
            if self.low_rank:
                st = low_rank_stats(*self.top_hessian(problem, seed), G)
            else:
                st = dense_stats(hessian.block_hessian(problem), covariance(G))
            rows.append(self.align_row(st, sigma_fro_sq(G), step, seed, self.small))
        return rows

    def at_theta_star(self, problem: Problem, seed: int):
        """K gradients at theta*; their first ``alignment_masks`` rows give its point of
        alpha(theta_t). Returns the alignment rows and the spectra (values, directions) of Sigma
        and H with u_i' Sigma u_i along H's eigenvectors u_i."""
        K = max(self.spec["masks"], self.small)
        masks = stream(self.spec, "theta_star_masks", seed, self.star)
        if self.low_rank:
            return self._theta_star_low_rank(problem, seed, K)
        H = hessian.block_hessian(problem).double().cpu()
        G = self.gradients(problem, K, masks)
        rows = [self.align_row(dense_stats(H, covariance(G[:self.small])),
                               sigma_fro_sq(G[:self.small]), self.star, seed, self.small)]
        S = covariance(G).double()
        # at K masks the plain |S|_F is biased by a factor ~ sqrt(1 + r / K) only
        rows.append({**self.align_row(dense_stats(H, S), np.nan, self.star, seed, len(G)),
                     "theta_star": True})
        del G
        eig_h, vec_h = spectrum(H.float(), self.top)
        eig_s, vec_s = spectrum(S.float(), self.top)
        u_var = ((vec_h.T @ S) * vec_h.T).sum(1).numpy()
        return rows, (eig_s, vec_s), (eig_h, vec_h), u_var

    def _theta_star_low_rank(self, problem: Problem, seed: int, K: int):
        """Never a B x B matrix: the Hessian's top directions by Lanczos, the gradient data
        streamed twice or more (sketched PCA) and projected on them."""
        s = self.spec
        eig_h, vec_h = self.top_hessian(problem, seed)
        vec_h = torch.from_numpy(np.ascontiguousarray(vec_h))
        G = self.gradients(problem, self.small, stream(s, "theta_star_masks", seed, self.star))
        fro_sq = sigma_fro_sq(G)
        rows = [self.align_row(low_rank_stats(eig_h, vec_h, G), fro_sq, self.star, seed,
                               self.small)]
        del G

        def batches():
            return mask_gradient_batches(problem, s["keep_prob"], s["mask"], K,
                                         stream(s, "theta_star_masks", seed, self.star),
                                         s["batch"])

        sk = sketched_pca(batches, self.B, self.top, extra=vec_h, seed=seed)
        st = {"tr_h": float(eig_h.sum()), "fro_h": float(np.linalg.norm(eig_h)),
              "tr_s": sk["trace"], "fro_s": float(np.sqrt(fro_sq)),
              "tr_hs": float((eig_h * sk["extra_var"]).sum())}
        # (|Sigma|_F of the K-mask row: the unbiased estimate from the first rows)
        rows.append({**self.align_row(st, np.nan, self.star, seed, K), "theta_star": True})
        return rows, (sk["variances"], sk["directions"]), (eig_h, vec_h), sk["extra_var"]

    def window(self, si: int, laps: Laps) -> Window:
        """Seed number ``si``'s recorded trajectory window of the block, analysed, with its
        reference: the mean-field path of the whole network from theta* over the same steps
        (none for a run trained by another optimizer than GD: its noise-free flow is not GD's,
        and its state at theta* is not kept); the path's time goes to ``laps``."""
        samples = torch.as_tensor(self.trajectory["params"][:, si]).reshape(-1, self.B)
        s, seed = self.spec, self.seeds[si]
        if (s.get("optimizer") or {}).get("name", "gd") != "gd":
            return Window(samples, self.top)
        steps = [int(t) for t in self.trajectory["steps"]]
        stride = steps[1] - steps[0] if len(steps) > 1 else 1
        whole = at_checkpoint(s, self.x, self.y, self.checkpoints, self.star, seed, head=False)
        path = continue_run(whole, s["lr"], len(samples) * stride,
                            stream(s, "reference_masks", seed, self.star),
                            dropout=(s["keep_prob"], s["mask"], s["reference_masks"]))
        laps.lap("the reference path")
        return Window(samples, self.top, path[::stride][:len(samples)])

    def diagnosis(self, problem: Problem, seed: int, window: Window) -> dict:
        """Is the window stationary and in the exploration phase? (docs/spec.md §1.6)"""
        steps = self.trajectory["steps"]
        theta = problem.theta.detach().clone().requires_grad_()
        grad_norm = float(torch.autograd.grad(problem.loss_fn()(theta), theta)[0].norm())
        row = {**self.label, "seed": seed, "window_start": int(steps[0]),
               "window_end": int(steps[-1]), "samples": int(window.centred.shape[0]),
               **window.diagnose(), "loss_theta_star": problem.loss0,
               "grad_norm_block": grad_norm}
        if self.metrics is not None:
            row.update(training_window(self.metrics, seed, int(steps[0]),
                                                  int(steps[-1])))
        return row

    def directions(self, problem: Problem, seed: int, window: Window, gradient, hess,
                   u_var) -> list:
        """Per kind of direction (gradient PCA, trajectory PCA raw, detrended and of the
        deviation from the reference, Hessian eigenvector): variance, eigenvalue and the interval
        flatness at every factor (the detrended trajectory's at ``flatness_factor`` only: a
        robustness row)."""
        spec, top = self.spec, self.top
        main = float(spec["flatness_factor"])
        factors = sorted(set(map(float, spec["flatness_factors"])) | {main})
        found = {"gradient": (gradient[0][:top], gradient[1]), **window.components,
                 "hessian": (hess[0][:top], hess[1])}
        loss0 = problem.loss0
        frames = []
        for kind, (values, vecs) in found.items():
            wanted = factors if kind in ("gradient", RAW, FLUCTUATION) else [main]
            flat = flatness(problem, vecs, wanted, spec["flatness_cap"])
            nan = np.full(len(values), np.nan)
            if kind == "hessian":
                extra = {"eigenvalue": values, "variance": u_var,
                         **window.variance_along(vecs)}
            else:
                extra = {"eigenvalue": nan, "variance": values, "traj_variance": nan,
                         "traj_variance_detrended": nan, "traj_variance_no_pc1": nan,
                         "traj_variance_fluctuation": nan}
            for c, res in flat.items():
                frames.append(pd.DataFrame({
                    **self.label, "seed": seed, "kind": kind, "index": np.arange(len(values)),
                    **extra, "factor": c, "loss0": loss0, "left": res["left"],
                    "right": res["right"], "width": res["width"], "flagged": res["flagged"]}))
        return frames

    def run(self) -> dict:
        align, dirs, spectra, diagnosis = [], [], [], []
        for si, seed in enumerate(self.seeds):
            laps = Laps()
            align += self.along_training(seed)
            laps.lap(f"alignment at {len(self.steps)} checkpoints")
            problem = self.problem(self.star, seed)
            rows, gradient, hess, u_var = self.at_theta_star(problem, seed)
            align += rows
            if not self.low_rank:
                spectra.append((seed, hess[0], gradient[0]))
            laps.lap(f"theta* (step {self.star}: Hessian, K = {self.spec['masks']} gradients, "
                     f"spectra)")
            window = self.window(si, laps)
            laps.lap("the trajectory window's PCA")
            diagnosis.append(self.diagnosis(problem, seed, window))
            dirs += self.directions(problem, seed, window, gradient, hess, u_var)
            laps.lap("the flatness of every direction")
            self.log(f"seed {seed}: {laps.text()}")
        if self.low_rank:
            self.log("hessian: lanczos: no Monte Carlo null draws (they need B x B matrices); the "
                     "null bands use the exact moments")
            return frames(align, dirs, [], diagnosis)
        return frames(align, dirs, self.null_draws(spectra), diagnosis)

    def null_draws(self, spectra) -> list[dict]:
        """Monte Carlo nulls at theta*: each Haar matrix drawn once and used for every seed's
        spectra; then the centred Wishart pairs, from the same stream."""
        laps = Laps()
        draws_rng = stream(self.spec, "null_draws", 0, self.star)
        n = self.spec["null_draws"]
        draws = null_same_spectra([(h, s) for _, h, s in spectra], n, draws_rng, np.float32,
                                  self.x.device)
        nulls = [{**self.label, "seed": seed, "null": "same_spectra", "draw": r, "alpha": float(a)}
                 for r, row in enumerate(draws) for (seed, _, _), a in zip(spectra, row)]
        wishart = null_centred_wishart(self.B, n, draws_rng, self.x.device)
        nulls += [{**self.label, "seed": -1, "null": "centred_wishart", "draw": r,
                   "alpha": float(a)} for r, a in enumerate(wishart)]
        laps.lap(f"null draws ({n} of each, B = {self.B})")
        self.log(laps.text())
        return nulls


def analyse(spec: dict, x, y, checkpoints: dict, trajectory: dict, log=print,
            metrics: pd.DataFrame | None = None) -> dict:
    """Alignment over checkpoints, PCA, flatness and the relations for every seed of a setting.

    ``checkpoints``: {"steps", "seeds", "params"} as written by training; ``trajectory``: the
    recorded block over the window that starts at theta* (``spec["theta_star"]``); ``metrics``:
    the training run's evaluations (the window's training loss and accuracy in the diagnosis).
    Returns tidy frames: alignment (per seed and checkpoint, and at theta* with K masks),
    directions (per seed, kind, direction and flatness factor), nulls (Monte Carlo at theta*)
    and diagnosis (per seed: the trajectory window's stationarity and phase).
    """
    return Stage(spec, x, y, checkpoints, trajectory, log, metrics).run()


def frames(align, dirs, nulls, diagnosis) -> dict:
    alignment_frame = pd.DataFrame(align)
    alignment_frame["theta_star"] = alignment_frame.get("theta_star", False)
    alignment_frame["theta_star"] = alignment_frame["theta_star"].fillna(False).astype(bool)
    columns = ["experiment", "setting", "keep_prob", "lr", "seed", "null", "draw", "alpha"]
    return {"alignment": alignment_frame, "directions": pd.concat(dirs, ignore_index=True),
            "nulls": pd.DataFrame(nulls, columns=columns), "diagnosis": pd.DataFrame(diagnosis)}
