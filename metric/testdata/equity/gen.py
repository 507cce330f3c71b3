#!/usr/bin/python3
"""Independent expected values for metric/equity_test.go.

Run from this directory with Debian's python3-scipy and python3-statsmodels
(scipy 1.10.1, statsmodels 0.13.5):

    /usr/bin/python3 gen.py

It rewrites wilson.csv, compare.csv, overall.csv and summary.csv. None of
the numbers come from the Go code: intervals and tests are statsmodels',
quantiles and tail probabilities scipy's, and the summary indices are
computed here from their published definitions with numpy.
"""
import csv
import math

import numpy as np
from scipy.stats import norm
from statsmodels.stats.proportion import (confint_proportions_2indep,
                                          proportion_confint,
                                          proportions_ztest)


def fmt(v):
    if v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))):
        return ""
    return repr(float(v))


WILSON = [(81, 263), (15, 148), (0, 20), (1, 29), (29, 29), (0, 1), (1, 1),
          (5, 10), (500, 1000), (1, 100000), (99999, 100000), (7, 11)]
CONF = [0.95, 0.90, 0.99]

with open("wilson.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["x", "n", "confidence", "z", "low", "high"])
    for conf in CONF:
        for x, n in WILSON:
            lo, hi = proportion_confint(x, n, alpha=1 - conf, method="wilson")
            w.writerow([x, n, conf, fmt(norm.ppf((1 + conf) / 2)), fmt(lo), fmt(hi)])

PAIRS = [(56, 70, 48, 80), (9, 10, 3, 10), (6, 7, 2, 7), (5, 56, 0, 29),
         (0, 10, 0, 20), (10, 10, 0, 20), (30, 100, 20, 100), (81, 263, 15, 148),
         (0, 50, 5, 60), (1000, 1200, 300, 400), (12, 40, 40, 40), (3, 3, 5, 5),
         (450, 900, 2100, 3500)]


def compare_row(x, n, y, m, conf):
    alpha = 1 - conf
    p, q = x / n, y / m
    dlo, dhi = confint_proportions_2indep(x, n, y, m, method="newcomb", compare="diff", alpha=alpha)
    ratio = rlo = rhi = None
    if q > 0:
        ratio = p / q
        if x > 0:
            rlo, rhi = confint_proportions_2indep(x, n, y, m, method="log", compare="ratio", alpha=alpha)
    z = pv = None
    pooled = (x + y) / (n + m)
    if 0 < pooled < 1:
        z, pv = proportions_ztest([x, y], [n, m])
    return [p - q, dlo, dhi, ratio, rlo, rhi, z, pv]


with open("compare.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["x", "n", "y", "m", "confidence", "difference", "difference_low", "difference_high",
                "ratio", "ratio_low", "ratio_high", "z", "p"])
    for conf in CONF:
        for x, n, y, m in PAIRS:
            w.writerow([x, n, y, m, conf] + [fmt(v) for v in compare_row(x, n, y, m, conf)])

# A stratum against the overall rate that contains it: statsmodels compares
# the stratum with the rest of the group, and the interval is rescaled here.
OVERALL = [(30, 100, 250, 1000), (5, 40, 600, 1000), (0, 20, 300, 1000), (90, 100, 500, 1000)]
with open("overall.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["x", "n", "total_x", "total_n", "confidence", "difference", "difference_low", "difference_high",
                "ratio", "ratio_low", "ratio_high", "z", "p"])
    for x, n, tx, tn in OVERALL:
        conf = 0.95
        y, m = tx - x, tn - n
        rest = compare_row(x, n, y, m, conf)
        wgt = n / tn
        p, q = x / n, tx / tn
        ratio = rlo = rhi = None
        if q > 0:
            ratio = p / q
            if rest[4] is not None:
                g = lambda rho: rho / (wgt * rho + 1 - wgt)
                rlo, rhi = g(rest[4]), g(rest[5])
        w.writerow([x, n, tx, tn, conf] + [fmt(v) for v in
                   [p - q, (1 - wgt) * rest[1], (1 - wgt) * rest[2], ratio, rlo, rhi, rest[6], rest[7]]])

# Summary indices, from their definitions: Pearcy & Keppel's Index of
# Disparity (unweighted and denominator-weighted) against a reference rate
# and Harper & Lynch's between-group variance.
SUMMARY = {
    # name: reference ("overall", or the reference stratum's label), strata (label, x, n)
    "race_largest": ("white", [("asian", 40, 70), ("black", 50, 120), ("hispanic", 150, 300), ("white", 420, 700)]),
    "sex_overall": ("overall", [("F", 300, 500), ("M", 240, 480), ("U", 3, 12)]),
}
with open("summary.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["case", "reference", "strata", "index_of_disparity", "weighted_index_of_disparity", "between_group_variance"])
    for name, (ref, strata) in SUMMARY.items():
        x = np.array([s[1] for s in strata], dtype=float)
        n = np.array([s[2] for s in strata], dtype=float)
        r = x / n
        if ref == "overall":
            R = x.sum() / n.sum()
            keep = np.ones(len(strata), dtype=bool)
        else:
            i = [s[0] for s in strata].index(ref)
            R = r[i]
            keep = np.arange(len(strata)) != i
        idisp = 100 * np.mean(np.abs(r[keep] - R)) / R
        wid = 100 * np.sum(n[keep] / n[keep].sum() * np.abs(r[keep] - R)) / R
        share = n / n.sum()
        mu = np.sum(share * r)
        bgv = np.sum(share * (r - mu) ** 2)
        enc = ";".join("%s:%d/%d" % s for s in strata)
        w.writerow([name, ref, enc, fmt(idisp), fmt(wid), fmt(bgv)])
