//! Linear probe: multinomial logistic regression on frozen features (standardised with the
//! training mean and std), full-batch Adam from zero with a small L2 penalty. Deterministic.

/// A trained probe.
pub struct Probe {
    pub dim: usize,
    pub classes: usize,
    mean: Vec<f32>,
    std: Vec<f32>,
    w: Vec<f32>, // [K, D]
    b: Vec<f32>,
}

/// Probe settings.
#[derive(Clone, Debug)]
pub struct ProbeConfig {
    pub iterations: usize,
    pub lr: f64,
    pub l2: f64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig { iterations: 300, lr: 0.05, l2: 1e-4 }
    }
}

fn softmax_in_place(z: &mut [f32]) {
    let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    z.iter_mut().for_each(|x| {
        *x = (*x - m).exp();
        s += *x;
    });
    z.iter_mut().for_each(|x| *x /= s);
}

impl Probe {
    /// Fits on features `x` (`[N, D]` flat) with labels `y`.
    pub fn fit(x: &[f32], y: &[i64], dim: usize, classes: usize, cfg: &ProbeConfig) -> Probe {
        let n = y.len();
        let mut mean = vec![0f32; dim];
        let mut std = vec![0f32; dim];
        for j in 0..dim {
            let m = (0..n).map(|i| x[i * dim + j] as f64).sum::<f64>() / n.max(1) as f64;
            let v = (0..n).map(|i| (x[i * dim + j] as f64 - m).powi(2)).sum::<f64>() / n.max(1) as f64;
            mean[j] = m as f32;
            std[j] = v.sqrt().max(1e-6) as f32;
        }
        let xs: Vec<f32> = (0..n * dim).map(|i| (x[i] - mean[i % dim]) / std[i % dim]).collect();
        let mut p = Probe { dim, classes, mean, std, w: vec![0.0; classes * dim], b: vec![0.0; classes] };
        let (mut mw, mut vw) = (vec![0f64; classes * dim], vec![0f64; classes * dim]);
        let (mut mb, mut vb) = (vec![0f64; classes], vec![0f64; classes]);
        let mut z = vec![0f32; classes];
        for t in 1..=cfg.iterations {
            let mut gw = vec![0f64; classes * dim];
            let mut gb = vec![0f64; classes];
            for i in 0..n {
                let xi = &xs[i * dim..(i + 1) * dim];
                for c in 0..classes {
                    z[c] = p.b[c] + xi.iter().zip(&p.w[c * dim..(c + 1) * dim]).map(|(a, b)| a * b).sum::<f32>();
                }
                softmax_in_place(&mut z);
                z[y[i] as usize] -= 1.0;
                for c in 0..classes {
                    let e = z[c] as f64 / n as f64;
                    gb[c] += e;
                    gw[c * dim..(c + 1) * dim].iter_mut().zip(xi).for_each(|(g, x)| *g += e * *x as f64);
                }
            }
            let (c1, c2) = (1.0 - 0.9f64.powi(t as i32), 1.0 - 0.999f64.powi(t as i32));
            for k in 0..classes * dim {
                let g = gw[k] + cfg.l2 * p.w[k] as f64;
                mw[k] = 0.9 * mw[k] + 0.1 * g;
                vw[k] = 0.999 * vw[k] + 0.001 * g * g;
                p.w[k] -= (cfg.lr * (mw[k] / c1) / ((vw[k] / c2).sqrt() + 1e-8)) as f32;
            }
            for c in 0..classes {
                mb[c] = 0.9 * mb[c] + 0.1 * gb[c];
                vb[c] = 0.999 * vb[c] + 0.001 * gb[c] * gb[c];
                p.b[c] -= (cfg.lr * (mb[c] / c1) / ((vb[c] / c2).sqrt() + 1e-8)) as f32;
            }
        }
        p
    }

    /// Predicted class of one feature vector.
    pub fn predict(&self, x: &[f32]) -> usize {
        let xs: Vec<f32> = x.iter().enumerate().map(|(j, v)| (v - self.mean[j]) / self.std[j]).collect();
        (0..self.classes)
            .map(|c| self.b[c] + xs.iter().zip(&self.w[c * self.dim..(c + 1) * self.dim]).map(|(a, b)| a * b).sum::<f32>())
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |b, (i, v)| if v > b.1 { (i, v) } else { b })
            .0
    }

    /// Accuracy on features `x` with labels `y`.
    pub fn accuracy(&self, x: &[f32], y: &[i64]) -> f64 {
        let hits = y.iter().enumerate().filter(|(i, l)| self.predict(&x[i * self.dim..(i + 1) * self.dim]) == **l as usize).count();
        hits as f64 / y.len().max(1) as f64
    }
}
