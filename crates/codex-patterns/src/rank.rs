//! Learns to order a short list of candidate goals: a softmax over the candidates of a linear
//! score of each candidate's features, trained online by gradient descent on the log-loss of
//! the goal actually run (a multinomial logistic model over the list, as in learning to rank).
//!
//! Feature 0 is the log of the mixture's probability and starts with weight 1, every other
//! feature with weight 0: a fresh ranker orders the list exactly as the mixture does, so it
//! is never worse than the mixture before it has learned anything.

/// Features of one candidate.
pub(crate) const FEATURES: usize = crate::model::RANK_FEATURES;

/// One candidate's features.
pub(crate) type Features = [f32; FEATURES];

/// One weight vector per ranker context.
#[derive(Debug, Clone)]
pub(crate) struct Ranker {
    weights: Vec<Features>,
    /// Sums of squared gradients of every weight (AdaGrad).
    squares: Vec<Features>,
    seen: Vec<u32>,
}

impl Ranker {
    pub(crate) fn new(sets: usize) -> Self {
        let mut prior = [0.0; FEATURES];
        prior[0] = 1.0;
        Self {
            weights: vec![prior; sets],
            squares: vec![[1.0; FEATURES]; sets],
            seen: vec![0; sets],
        }
    }

    /// The score of each candidate in weight set `set`.
    pub(crate) fn scores(&self, set: usize, list: &[Features]) -> Vec<f32> {
        let w = &self.weights[set];
        list.iter()
            .map(|f| w.iter().zip(f).map(|(w, x)| w * x).sum())
            .collect()
    }

    /// The softmax of `scores`, in place.
    pub(crate) fn softmax(scores: &mut [f32]) {
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        for s in scores.iter_mut() {
            *s /= sum;
        }
    }

    /// One step of gradient descent on the log-loss of candidate `truth` of `list`; answers
    /// the rank `truth` had before.
    pub(crate) fn learn(
        &mut self,
        set: usize,
        list: &[Features],
        truth: usize,
        rate: f32,
    ) -> usize {
        let mut p = self.scores(set, list);
        let rank = p.iter().filter(|&&s| s > p[truth]).count();
        Self::softmax(&mut p);
        let seen = &mut self.seen[set];
        *seen = seen.saturating_add(1);
        let mut grad = [0.0; FEATURES];
        for (i, (f, p)) in list.iter().zip(&p).enumerate() {
            let g = f32::from(i == truth) - p;
            if g.abs() < 1e-4 {
                continue;
            }
            for (d, x) in grad.iter_mut().zip(f) {
                *d += g * x;
            }
        }
        let w = &mut self.weights[set];
        let sq = &mut self.squares[set];
        for ((w, sq), g) in w.iter_mut().zip(sq.iter_mut()).zip(grad) {
            *sq += g * g;
            *w += rate * g / sq.sqrt();
        }
        rank
    }
}
