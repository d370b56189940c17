"""Where a ResNet-20 training step spends its time on the CPU (issue 17, item 3, without a GPU).

One full-batch dropout gradient of the paper config's ResNet-20 (CIFAR form, 64-unit dropout head)
on random 32x32 images: seconds per step with torch's fused BatchNorm (the pipeline's), with the
same statistics written out as elementwise operations (the pipeline's former BatchNorm), and with
GroupNorm (the precursor config's declared alternative); then torch.profiler's operators by self
time for the pipeline's step. The GPU counterpart is benchmarks/gpu_check.py (parts resnet20,
resnet20_autotune, resnet20_precursor). Usage:
    python benchmarks/resnet_step.py [--images 256] [--threads 2] [--repeats 5]
"""

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from dropout_sme import models
from dropout_sme.architectures import resnet

MODEL = {"arch": "resnet", "depth": 20, "hidden": [64], "activation": "relu",
         "image": [3, 32, 32]}


def written_out(h, scale, shift, eps=1e-5):
    mean = h.mean((-4, -2, -1), keepdim=True)
    var = h.var((-4, -2, -1), keepdim=True, unbiased=False)
    return (h - mean) * torch.rsqrt(var + eps) * scale[:, None, None] + shift[:, None, None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.images, 3072, generator=g)
    y = torch.randint(0, 100, (args.images,), generator=g)

    def stepper(model):
        params = models.init_params(model, 3072, 100, torch.Generator().manual_seed(0))
        masks = models.sample_masks(model, 0.8, "per_sample", args.images, g)

        def step():
            p = {k: v.detach().requires_grad_() for k, v in params.items()}
            loss = models.loss_value("cross_entropy", models.forward(model, p, x, masks), y)
            return torch.autograd.grad(loss, list(p.values()))
        return step

    def seconds(step):
        step()
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            step()
        return (time.perf_counter() - t0) / args.repeats

    fused = seconds(stepper(MODEL))
    saved, resnet.batch_norm = resnet.batch_norm, written_out
    try:
        manual = seconds(stepper(MODEL))
    finally:
        resnet.batch_norm = saved
    group = seconds(stepper({**MODEL, "norm": "group", "groups": 8}))
    print(f"ResNet-20 full-batch dropout gradient, {args.images} images, {args.threads} thread(s):")
    print(f"  BatchNorm, torch's fused kernel (the pipeline's)  {fused:7.3f} s/step")
    print(f"  BatchNorm, statistics written out                {manual:7.3f} s/step "
          f"({manual / fused:.2f}x)")
    print(f"  GroupNorm (8 groups)                             {group:7.3f} s/step")
    step = stepper(MODEL)
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))


if __name__ == "__main__":
    main()
