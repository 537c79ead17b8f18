//! The ViT forward pass on a burn device, timm's `VisionTransformer` exactly: patch embedding
//! (conv with kernel = stride = patch, done as patchify + matmul), class token, learned position
//! embedding, pre-norm blocks (LayerNorm ε=1e-6 → MHSA with fused qkv → proj; LayerNorm → fc1 →
//! exact GELU → fc2), final LayerNorm, head on the class token.
//!
//! Shapes: `B` images, `C` channels, `S` image side, `P` patch, `G = S/P`, `T = G² + 1` tokens,
//! `D` width, `H` heads, `E = D/H`, `M` MLP width, `K` classes.

use crate::config::VitConfig;
use crate::vit::Params;
use burn::prelude::*;
use burn::tensor::activation::{gelu, softmax};
use std::collections::BTreeMap;

/// Parameters uploaded to a device, each as a flat 1-D tensor (a leaf when it tracks gradients).
pub struct DeviceParams {
    pub tensors: BTreeMap<String, Tensor<1>>,
}

impl DeviceParams {
    /// Uploads every parameter; those for which `track(name)` is true become gradient leaves
    /// (the device must then have autodiff enabled).
    pub fn upload(params: &Params, device: &Device, track: impl Fn(&str) -> bool) -> Self {
        let tensors = params
            .iter()
            .map(|(name, t)| {
                let x = Tensor::<1>::from_data(TensorData::new(t.data.clone(), [t.data.len()]), device);
                let x = if track(name) { x.require_grad() } else { x };
                (name.clone(), x)
            })
            .collect();
        DeviceParams { tensors }
    }

    fn get(&self, name: &str) -> Tensor<1> {
        // Every name asked for comes from `VitConfig::param_shapes`, which `Vit` guarantees.
        self.tensors[name].clone()
    }
}

/// What one forward pass gives back.
pub struct Forward {
    /// `[B, K]` logits (absent when the model has no head).
    pub logits: Option<Tensor<2>>,
    /// `[B, D]` the class token after the final LayerNorm: the head's input (the probe's features).
    pub pre_logits: Tensor<2>,
    /// Every block's output `[B, T, D]`, in order.
    pub blocks: Vec<Tensor<3>>,
}

/// `x [N, I] · Wᵀ + b`, with `w` flat `[O·I]` and `b` flat `[O]` → `[N, O]`.
fn linear2(x: Tensor<2>, w: Tensor<1>, b: Tensor<1>, out: usize, inp: usize) -> Tensor<2> {
    x.matmul(w.reshape([out, inp]).transpose()) + b.reshape([1, out])
}

/// Linear on `[B, T, I]` → `[B, T, O]`.
fn linear3(x: Tensor<3>, w: Tensor<1>, b: Tensor<1>, out: usize, inp: usize) -> Tensor<3> {
    let [bs, t, _] = x.dims();
    linear2(x.reshape([bs * t, inp]), w, b, out, inp).reshape([bs, t, out])
}

/// LayerNorm over the last dim with ε = 1e-6 (timm's ViT).
fn layer_norm(x: Tensor<3>, w: Tensor<1>, b: Tensor<1>) -> Tensor<3> {
    let d = x.dims()[2];
    let mean = x.clone().mean_dim(2);
    let xc = x - mean;
    let var = xc.clone().square().mean_dim(2);
    xc / (var + 1e-6).sqrt() * w.reshape([1, 1, d]) + b.reshape([1, 1, d])
}

/// `[B, C, S, S]` → `[B, G², C·P·P]` patches in the conv weight's (C, P, P) order.
fn patchify(x: Tensor<4>, p: usize) -> Tensor<3> {
    let [b, c, s, _] = x.dims();
    let g = s / p;
    x.reshape([b, c, g, p, g, p]).permute([0, 2, 4, 1, 3, 5]).reshape([b, g * g, c * p * p])
}

/// Multi-head self-attention on `[B, T, D]`.
fn attention(cfg: &VitConfig, p: &DeviceParams, i: usize, x: Tensor<3>) -> Tensor<3> {
    let (d, h, e) = (cfg.embed_dim, cfg.num_heads, cfg.head_dim());
    let [b, t, _] = x.dims();
    let pre = |s: &str| format!("blocks.{i}.attn.{s}");
    let qkv = linear3(x, p.get(&pre("qkv.weight")), p.get(&pre("qkv.bias")), 3 * d, d);
    // [B, T, 3, H, E] → [3, B, H, T, E]
    let qkv = qkv.reshape([b, t, 3, h, e]).permute([2, 0, 3, 1, 4]);
    let part = |k: usize| qkv.clone().narrow(0, k, 1).reshape([b, h, t, e]);
    let (q, k, v) = (part(0), part(1), part(2));
    let scale = (e as f64).powf(-0.5);
    let attn = softmax(q.mul_scalar(scale).matmul(k.swap_dims(2, 3)), 3); // [B, H, T, T]
    let y = attn.matmul(v).swap_dims(1, 2).reshape([b, t, d]); // [B, T, D]
    linear3(y, p.get(&pre("proj.weight")), p.get(&pre("proj.bias")), d, d)
}

/// One pre-norm block on `[B, T, D]`.
fn block(cfg: &VitConfig, p: &DeviceParams, i: usize, x: Tensor<3>) -> Tensor<3> {
    let (d, m) = (cfg.embed_dim, cfg.mlp_hidden());
    let n = |s: &str| p.get(&format!("blocks.{i}.{s}"));
    let x = x.clone() + attention(cfg, p, i, layer_norm(x, n("norm1.weight"), n("norm1.bias")));
    let y = layer_norm(x.clone(), n("norm2.weight"), n("norm2.bias"));
    let y = gelu(linear3(y, n("mlp.fc1.weight"), n("mlp.fc1.bias"), m, d));
    x + linear3(y, n("mlp.fc2.weight"), n("mlp.fc2.bias"), d, m)
}

/// The forward pass on images `[B, C, S, S]` (already normalised). The caller guarantees that
/// the image shape matches `cfg` (see [`crate::calib::Calibration::check`]).
pub fn forward(cfg: &VitConfig, p: &DeviceParams, images: Tensor<4>) -> Forward {
    let (d, ps) = (cfg.embed_dim, cfg.patch_size);
    let b = images.dims()[0];
    crate::flops::record_forward(b);
    let cpp = cfg.in_chans * ps * ps;
    let patches = patchify(images, ps); // [B, G², C·P·P]
    let x = linear3(patches, p.get("patch_embed.proj.weight"), p.get("patch_embed.proj.bias"), d, cpp);
    let cls = p.get("cls_token").reshape([1, 1, d]).repeat_dim(0, b);
    let mut x = Tensor::cat(vec![cls, x], 1) + p.get("pos_embed").reshape([1, cfg.tokens(), d]);
    let mut blocks = Vec::with_capacity(cfg.depth);
    for i in 0..cfg.depth {
        x = block(cfg, p, i, x);
        blocks.push(x.clone());
    }
    let x = layer_norm(x, p.get("norm.weight"), p.get("norm.bias"));
    let pre_logits = x.narrow(1, 0, 1).reshape([b, d]);
    let logits = (cfg.num_classes > 0).then(|| linear2(pre_logits.clone(), p.get("head.weight"), p.get("head.bias"), cfg.num_classes, d));
    Forward { logits, pre_logits, blocks }
}
