"""EM recovers known m and the match share from simulated comparison patterns."""

import numpy as np

from linkage.expectation_maximisation import run_em


def simulate(n: int, lam: float, m: list[np.ndarray], u: list[np.ndarray], seed: int = 3):
    rng = np.random.default_rng(seed)
    match = rng.random(n) < lam
    cols = []
    for mc, uc in zip(m, u, strict=True):
        g_match = rng.choice(len(mc), size=n, p=mc)
        g_non = rng.choice(len(uc), size=n, p=uc)
        cols.append(np.where(match, g_match, g_non))
    g = np.stack(cols, axis=1)
    patterns, counts = np.unique(g, axis=0, return_counts=True)
    return patterns, counts.astype(float)


def test_em_recovers_m_and_lambda_with_u_fixed() -> None:
    m = [
        np.array([0.9, 0.07, 0.03]),
        np.array([0.85, 0.1, 0.05]),
        np.array([0.95, 0.05]),
        np.array([0.8, 0.15, 0.05]),
    ]
    u = [
        np.array([0.01, 0.04, 0.95]),
        np.array([0.02, 0.08, 0.9]),
        np.array([0.1, 0.9]),
        np.array([0.05, 0.15, 0.8]),
    ]
    g, counts = simulate(400_000, 0.05, m, u)
    assert len(g) < 100  # EM sees patterns, not pairs
    m_hat, lam, iterations, _ = run_em(g, counts, u, [True] * 4, lam=0.3)
    assert abs(lam - 0.05) < 0.003
    for got, want in zip(m_hat, m, strict=True):
        assert np.abs(got - want).max() < 0.02
    assert iterations < 100


def test_inactive_comparison_is_left_alone() -> None:
    m = [np.array([0.9, 0.1]), np.array([0.8, 0.2]), np.array([0.7, 0.3])]
    u = [np.array([0.05, 0.95]), np.array([0.1, 0.9]), np.array([0.2, 0.8])]
    g, counts = simulate(100_000, 0.2, m, u)
    start = [np.array([0.5, 0.5])] * 3
    m_hat, *_ = run_em(g, counts, u, [True, True, False], m_init=start)
    assert (m_hat[2] == start[2]).all()
    assert abs(m_hat[0][0] - 0.9) < 0.03
