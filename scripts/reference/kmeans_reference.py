"""Independent NumPy float64 reference for k-means' Lloyd iterations (issue 16, calibration).

Writes Tests/Fixtures/kmeans-reference.json: float32 points (Gaussian blobs plus a few far
outliers), initial centroids (data points, and one centroid far from all data so that its
cluster empties), and what Lloyd's algorithm makes of them, written from its definition, not
from the Swift code:

assign   label = argmin_c ||x - c||^2 (ties -> lower c), objective = mean of the minima;
update   each centroid = mean of its points; a cluster with no point takes one of the points
         farthest from their centroids (the e largest distances of the last assignment, e = the
         number of empty clusters, handed out in point order to the empty clusters in index order);
stop     after an update and an assignment, when |objective - previous| / previous < tolerance,
         or after max_iterations.

Run: python3 scripts/reference/kmeans_reference.py   (NumPy only; seed fixed)
"""
import json
import os

import numpy as np

rng = np.random.default_rng(16_2026)
d, blobs, per_blob, k = 8, 12, 120, 16
centers = rng.normal(0, 6, size=(blobs, d))
points = np.concatenate([c + rng.normal(0, 1, size=(per_blob, d)) for c in centers])
points = np.concatenate([points, rng.normal(0, 25, size=(5, d))])      # outliers: the farthest points
points = points[rng.permutation(len(points))].astype(np.float32)
n = len(points)
initial = points[rng.choice(n, size=k, replace=False)].copy()
initial[3] = 400.0                                                     # empties at the first update
max_iterations, tolerance = 40, 1e-6

x = points.astype(np.float64)


def assign(c):
    dist = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    labels = dist.argmin(axis=1)
    best = dist[np.arange(n), labels]
    return labels, best, best.mean()


centroids = initial.astype(np.float64)
labels, best, objective = assign(centroids)
iterations, converged, emptied = 0, False, 0
while iterations < max_iterations:
    new = centroids.copy()
    empty = []
    for c in range(k):
        members = labels == c
        if members.any():
            new[c] = x[members].mean(axis=0)
        else:
            empty.append(c)
    if empty:
        emptied += len(empty)
        donors = np.sort(np.argsort(-best, kind="stable")[: len(empty)])
        for c, p in zip(empty, donors):
            new[c] = x[p]
    centroids = new
    labels, best, following = assign(centroids)
    iterations += 1
    change = abs(objective - following) / objective if objective > 0 else 0
    objective = following
    if change < tolerance:
        converged = True
        break
assert emptied > 0, "the fixture must exercise the empty-cluster rule"

out = {
    "about": "scripts/reference/kmeans_reference.py: NumPy float64 Lloyd iterations from given initial centroids",
    "dimension": d, "centroids": k, "max_iterations": max_iterations, "tolerance": tolerance,
    "points": [float(v) for v in points.ravel()],
    "initial": [float(v) for v in initial.ravel()],
    "labels": [int(v) for v in labels],
    "final_centroids": [float(v) for v in centroids.ravel()],
    "objective": float(objective), "iterations": iterations, "converged": converged,
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "kmeans-reference.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"{path}: {n} points, d={d}, k={k}, {iterations} iterations, converged={converged}, emptied={emptied}")
