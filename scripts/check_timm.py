"""One-off check against PyTorch and timm (not part of the test command: PyTorch with its CUDA
libraries is several GB). Three things, each printed with its numbers:

1. the bundled model loads into timm's own `VisionTransformer` with strict names and shapes
   (config and input normalisation from the file's `__metadata__`);
2. timm's forward pass gives the test accuracy the file states (all 10,000 Fashion-MNIST test
   images from the committed shard), so our ViT computes what timm's does;
3. each masks file given (the page's "masks" download, or a `foresight score --sparsity` output)
   applies with `torch.nn.utils.prune.custom_from_mask`: every pruned weight is zero afterwards and
   the kept count matches the file.

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch timm safetensors
    /tmp/tv/bin/python scripts/check_timm.py [masks.safetensors ...]
"""
import json
import sys

import timm
import torch
from safetensors import safe_open
from safetensors.torch import load_file
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
    for path in sys.argv[1:]:
        m, _, _ = load_model(MODEL)
        count, kept, total, q = apply_masks(m, path)
        print(f"{path}: {count} masks applied with prune.custom_from_mask; every pruned weight is zero; "
              f"kept {kept} of {total} ({100 * (1 - kept / total):.2f} % pruned; the file says sparsity {q})")


if __name__ == "__main__":
    main()
