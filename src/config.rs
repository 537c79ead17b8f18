//! The ViT configuration: timm's `VisionTransformer` hyper-parameters.

use crate::error::Result;
use crate::invalid;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of a timm-style ViT (class token, learned position embedding, pre-norm
/// blocks, token pooling, LayerNorm ε = 1e-6, exact GELU).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VitConfig {
    /// Input side length in pixels (square images).
    pub img_size: usize,
    /// Input channels.
    pub in_chans: usize,
    /// Patch side length (the patch-embedding conv has kernel = stride = patch).
    pub patch_size: usize,
    /// Token width `D`.
    pub embed_dim: usize,
    /// Number of transformer blocks.
    pub depth: usize,
    /// Attention heads; `embed_dim` must be divisible by it.
    pub num_heads: usize,
    /// MLP hidden width = `mlp_ratio · embed_dim` (must come out whole).
    pub mlp_ratio: f64,
    /// Classes of the `head`; 0 means the checkpoint has no head.
    pub num_classes: usize,
}

/// The four matrix types of a block plus the patch embedding, as the page groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatrixKind {
    PatchEmbed,
    Qkv,
    Proj,
    Fc1,
    Fc2,
    Head,
}

impl MatrixKind {
    /// Short label used in tables and plots.
    pub fn label(self) -> &'static str {
        match self {
            MatrixKind::PatchEmbed => "patch_embed",
            MatrixKind::Qkv => "qkv",
            MatrixKind::Proj => "proj",
            MatrixKind::Fc1 => "fc1",
            MatrixKind::Fc2 => "fc2",
            MatrixKind::Head => "head",
        }
    }

    /// The kind and block index (`None` for tensors outside the blocks) of a timm weight name.
    pub fn of(name: &str) -> Option<(MatrixKind, Option<usize>)> {
        if name == "patch_embed.proj.weight" {
            return Some((MatrixKind::PatchEmbed, None));
        }
        if name == "head.weight" {
            return Some((MatrixKind::Head, None));
        }
        let rest = name.strip_prefix("blocks.")?;
        let (idx, tail) = rest.split_once('.')?;
        let block = idx.parse().ok()?;
        let kind = match tail {
            "attn.qkv.weight" => MatrixKind::Qkv,
            "attn.proj.weight" => MatrixKind::Proj,
            "mlp.fc1.weight" => MatrixKind::Fc1,
            "mlp.fc2.weight" => MatrixKind::Fc2,
            _ => return None,
        };
        Some((kind, Some(block)))
    }
}

impl VitConfig {
    /// ViT-Ti/16 at 224×224 (timm `vit_tiny_patch16_224`, DeiT-Tiny).
    pub fn vit_tiny(num_classes: usize) -> Self {
        VitConfig {
            img_size: 224,
            in_chans: 3,
            patch_size: 16,
            embed_dim: 192,
            depth: 12,
            num_heads: 3,
            mlp_ratio: 4.0,
            num_classes,
        }
    }

    /// Checks that the numbers describe a buildable model.
    pub fn validate(&self) -> Result<()> {
        let c = self;
        if c.img_size == 0 || c.in_chans == 0 || c.patch_size == 0 || c.embed_dim == 0 {
            return Err(invalid!("image size, channels, patch size and width must all be positive"));
        }
        if c.img_size % c.patch_size != 0 {
            return Err(invalid!(
                "image size {} is not a multiple of the patch size {}",
                c.img_size,
                c.patch_size
            ));
        }
        if c.num_heads == 0 || c.embed_dim % c.num_heads != 0 {
            return Err(invalid!(
                "width {} is not divisible by the number of heads {}",
                c.embed_dim,
                c.num_heads
            ));
        }
        let hidden = c.mlp_ratio * c.embed_dim as f64;
        if !(hidden >= 1.0 && (hidden - hidden.round()).abs() < 1e-9) {
            return Err(invalid!("mlp_ratio {} × width {} is not a whole number", c.mlp_ratio, c.embed_dim));
        }
        Ok(())
    }

    /// Patches per image side.
    pub fn grid(&self) -> usize {
        self.img_size / self.patch_size
    }

    /// Tokens per image, class token included.
    pub fn tokens(&self) -> usize {
        self.grid() * self.grid() + 1
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.num_heads
    }

    /// MLP hidden width.
    pub fn mlp_hidden(&self) -> usize {
        (self.mlp_ratio * self.embed_dim as f64).round() as usize
    }

    /// Every tensor of the model with its timm name and shape, in timm's order.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, p, c, h) = (self.embed_dim, self.patch_size, self.in_chans, self.mlp_hidden());
        let mut v: Vec<(String, Vec<usize>)> = vec![
            ("cls_token".into(), vec![1, 1, d]),
            ("pos_embed".into(), vec![1, self.tokens(), d]),
            ("patch_embed.proj.weight".into(), vec![d, c, p, p]),
            ("patch_embed.proj.bias".into(), vec![d]),
        ];
        for i in 0..self.depth {
            let b = |s: &str| format!("blocks.{i}.{s}");
            v.extend([
                (b("norm1.weight"), vec![d]),
                (b("norm1.bias"), vec![d]),
                (b("attn.qkv.weight"), vec![3 * d, d]),
                (b("attn.qkv.bias"), vec![3 * d]),
                (b("attn.proj.weight"), vec![d, d]),
                (b("attn.proj.bias"), vec![d]),
                (b("norm2.weight"), vec![d]),
                (b("norm2.bias"), vec![d]),
                (b("mlp.fc1.weight"), vec![h, d]),
                (b("mlp.fc1.bias"), vec![h]),
                (b("mlp.fc2.weight"), vec![d, h]),
                (b("mlp.fc2.bias"), vec![d]),
            ]);
        }
        v.push(("norm.weight".into(), vec![d]));
        v.push(("norm.bias".into(), vec![d]));
        if self.num_classes > 0 {
            v.push(("head.weight".into(), vec![self.num_classes, d]));
            v.push(("head.bias".into(), vec![self.num_classes]));
        }
        v
    }

    /// The names of the prunable weight matrices `P` (patch embedding and every block's qkv,
    /// proj, fc1, fc2), optionally with the head, in timm's order.
    pub fn prunable(&self, include_head: bool) -> Vec<String> {
        let mut v = vec!["patch_embed.proj.weight".to_string()];
        for i in 0..self.depth {
            for t in ["attn.qkv.weight", "attn.proj.weight", "mlp.fc1.weight", "mlp.fc2.weight"] {
                v.push(format!("blocks.{i}.{t}"));
            }
        }
        if include_head && self.num_classes > 0 {
            v.push("head.weight".into());
        }
        v
    }

    /// Total parameter count.
    pub fn num_params(&self) -> usize {
        self.param_shapes().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }
}
