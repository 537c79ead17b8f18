"""One-off check against PyTorch and timm (not part of the test command: PyTorch with its CUDA
libraries is several GB). Four things, each printed with its numbers:

1. the bundled model loads into timm's own `VisionTransformer` with strict names and shapes
   (config and input normalisation from the file's `__metadata__`);
2. timm's forward pass gives the test accuracy the file states (all 10,000 Fashion-MNIST test
   images from the committed shard), so our ViT computes what timm's does;
3. a user's checkpoint of a real timm architecture: DeiT-Tiny (`deit_tiny_patch16_224`, timm's own
   random initialisation, seed 0, 10 classes) saved as a plain state dict loads into
   `foresight score`, and its SNIP scores |θ ⊙ ∇L| on 10 random 224×224 images equal PyTorch's
   autograd ones (forward and backward through all 12 blocks checked at once);
4. each masks file given (the page's "masks" download, or a `foresight score --sparsity` output)
   applies with `torch.nn.utils.prune.custom_from_mask`: every pruned weight is zero afterwards and
   the kept count matches the file.

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch timm safetensors
    cargo build --bin foresight
    /tmp/tv/bin/python scripts/check_timm.py [masks.safetensors ...]     (FORESIGHT_BIN overrides the tool)
"""
import json
import os
import subprocess
import sys
import tempfile

import timm
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.nn.utils import prune

MODEL = "static/models/vit-fmnist.safetensors"
TEST = "static/data/fashion-mnist/test.safetensors"


def load_model(path):
    with safe_open(path, "pt") as f:
        meta = f.metadata()
    cfg = json.loads(meta["foresight.config"])
    norm = json.loads(meta["foresight.normalization"])
    model = timm.models.vision_transformer.VisionTransformer(
        img_size=cfg["img_size"], patch_size=cfg["patch_size"], in_chans=cfg["in_chans"],
        num_classes=cfg["num_classes"], embed_dim=cfg["embed_dim"], depth=cfg["depth"],
        num_heads=cfg["num_heads"], mlp_ratio=cfg["mlp_ratio"], global_pool="token")
    state = {k: v.float() for k, v in load_file(path).items()}
    model.load_state_dict(state, strict=True)  # raises on any missing, extra or mis-shaped tensor
    return model.eval(), norm, json.loads(meta["foresight.training"])


def accuracy(model, norm, path):
    test = load_file(path)
    x = test["images"].float().div(255).unsqueeze(1)  # [N, 1, 28, 28]
    x = (x - norm["mean"][0]) / norm["std"][0]
    y = test["labels"].long()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return (pred == y).sum().item(), len(y)


def deit_snip(tool):
    """SNIP on a random-init DeiT-Tiny: `foresight score` against PyTorch autograd."""
    torch.manual_seed(0)
    model = timm.create_model("deit_tiny_patch16_224", pretrained=False, num_classes=10).eval()
    x = torch.randn(10, 3, 224, 224)
    y = torch.arange(10)  # every class once: the tool reads the class count from the labels
    torch.nn.functional.cross_entropy(model(x), y).backward()  # mean over the batch, as SNIP's L
    with tempfile.TemporaryDirectory() as d:
        ckpt, calib, out = (os.path.join(d, f) for f in ("deit.safetensors", "calib.safetensors", "snip.safetensors"))
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, ckpt)
        save_file({"images": x, "labels": y}, calib)
        subprocess.run([tool, "score", "--model", ckpt, "--heads", "3", "--calib", calib, "--criterion", "snip",
                        "--sparsity", "0.9", "--out", out], check=True, capture_output=True)
        ours = load_file(out)
    theirs = {n: (p.detach() * p.grad).abs() for n, p in model.named_parameters() if n in ours}
    top = max(t.max().item() for t in theirs.values())
    flat = torch.cat([t.flatten() for t in theirs.values()])
    threshold = flat.kthvalue(int(0.9 * flat.numel())).values.item()  # PyTorch's own 90 % mask
    worst = max((ours[n] - t).abs().max().item() / top for n, t in theirs.items())
    both = sum((ours[n + ".mask"].bool() & (t > threshold)).sum().item() for n, t in theirs.items())
    either = sum((ours[n + ".mask"].bool() | (t > threshold)).sum().item() for n, t in theirs.items())
    return len(theirs), worst, both / either, sum(p.numel() for p in model.parameters())


def apply_masks(model, path):
    tensors = load_file(path)
    score_layout = any(k.endswith(".mask") for k in tensors)
    masks = {k.removesuffix(".mask"): v for k, v in tensors.items() if k.endswith(".mask") or not score_layout}
    kept = total = 0
    for name, mask in masks.items():
        module = model.get_submodule(name.removesuffix(".weight"))
        assert mask.shape == module.weight.shape, f"{name}: mask {tuple(mask.shape)} vs weight {tuple(module.weight.shape)}"
        prune.custom_from_mask(module, "weight", mask.bool())
        w = module.weight  # weight_orig * weight_mask, recomputed by the pruning hook
        assert torch.all(w[mask == 0] == 0), f"{name}: a pruned weight is not zero"
        kept += int(mask.sum())
        total += mask.numel()
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    # The page's masks file says `sparsity`; a score file has it among its `options`.
    q = meta.get("sparsity") or json.loads(meta.get("options", "{}")).get("sparsity", "not stated")
    return len(masks), kept, total, q


def main():
    model, norm, training = load_model(MODEL)
    print(f"torch {torch.__version__}, timm {timm.__version__}: {MODEL} loads into timm's VisionTransformer "
          f"(strict: {len(model.state_dict())} tensors, names and shapes equal)")
    right, n = accuracy(model, norm, TEST)
    print(f"timm's forward pass: {right}/{n} = {100 * right / n:.2f} % on the Fashion-MNIST test split "
          f"(the file states {100 * training['test_accuracy_stored']:.2f} %, measured by our engine)")
    tool = os.environ.get("FORESIGHT_BIN", "target/debug/foresight")
    names, worst, iou, params = deit_snip(tool)
    print(f"DeiT-Tiny ({params} params, random init, plain timm state dict) in `foresight score --heads 3`: "
          f"SNIP on {names} prunable tensors within {worst:.1e} of PyTorch autograd's (max |Δ| / max score); "
          f"90 % mask IoU with PyTorch's {iou:.5f}")
    for path in sys.argv[1:]:
        m, _, _ = load_model(MODEL)
        count, kept, total, q = apply_masks(m, path)
        print(f"{path}: {count} masks applied with prune.custom_from_mask; every pruned weight is zero; "
              f"kept {kept} of {total} ({100 * (1 - kept / total):.2f} % pruned; the file says sparsity {q})")


if __name__ == "__main__":
    main()
