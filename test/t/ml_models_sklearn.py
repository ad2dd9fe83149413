#!/usr/bin/python3
"""The contact models fitted outside the database, as a user exporting the rows would.

Reads a CSV (a path, or standard input for "-") with a header row:
  group      the model the row belongs to (an organization id)
  is_eval    true for a holdout row, false for a training row
  label      the class, true/false, t/f or 1/0
  anything else is a feature, in column order; an empty value is missing.

For each group, as wib.ml_train_model does: each feature is standardized with
the training rows' mean and population standard deviation (missing values,
and features without spread, become 0); LogisticRegression(C=1/l2,
solver="newton-cholesky", tol=1e-10) is fitted on the training rows; the
holdout is scored with roc_auc_score, log_loss and brier_score_loss.  Prints
one JSON object: per group the coefficients (intercept first, standardized
scale), auc, log_loss, brier, and the seconds spent reading and fitting.

  psql -c "COPY (...) TO STDOUT WITH CSV HEADER" > rows.csv
  /usr/bin/python3 ml_models_sklearn.py rows.csv --l2 1

Needs Debian's python3-sklearn (scikit-learn 1.2 or later for newton-cholesky).
"""
import argparse
import json
import sys
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

TRUE = {"true", "t", "1"}


def read_rows(stream):
    header = stream.readline().rstrip("\r\n").split(",")
    for name in ("group", "is_eval", "label"):
        if name not in header:
            raise ValueError(f"the CSV needs a column named {name}")
    gi, ei, li = header.index("group"), header.index("is_eval"), header.index("label")
    fcols = [i for i, h in enumerate(header) if h not in ("group", "is_eval", "label")]
    groups = {}
    for line in stream:
        cells = line.rstrip("\r\n").split(",")
        if len(cells) != len(header):
            continue
        g = groups.setdefault(cells[gi], ([], [], []))
        g[0].append([float(cells[i]) if cells[i] != "" else np.nan for i in fcols])
        g[1].append(cells[li].lower() in TRUE)
        g[2].append(cells[ei].lower() in TRUE)
    return [header[i] for i in fcols], groups


def fit_group(x, y, is_eval, l2):
    x = np.array(x, dtype=np.float64)
    y = np.array(y, dtype=np.int64)
    ev = np.array(is_eval, dtype=bool)
    tr = ~ev
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(x[tr], axis=0)
        sd = np.nanstd(x[tr], axis=0)
        z = (x - mean) / np.where(sd > 0, sd, np.nan)
    z[~np.isfinite(z)] = 0.0
    model = LogisticRegression(C=1.0 / l2, solver="newton-cholesky", tol=1e-10, max_iter=1000)
    model.fit(z[tr], y[tr])
    p = model.predict_proba(z[ev])[:, 1]
    return {
        "coefficients": [float(model.intercept_[0])] + [float(c) for c in model.coef_[0]],
        "auc": float(roc_auc_score(y[ev], p)),
        "log_loss": float(log_loss(y[ev], p, eps=1e-15, labels=[0, 1])),
        "brier": float(brier_score_loss(y[ev], p)),
        "training_rows": int(tr.sum()),
        "eval_rows": int(ev.sum()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="?", default="-")
    ap.add_argument("--l2", type=float, default=1.0)
    args = ap.parse_args()
    t0 = time.monotonic()
    if args.csv == "-":
        features, groups = read_rows(sys.stdin)
    else:
        with open(args.csv) as f:
            features, groups = read_rows(f)
    t1 = time.monotonic()
    out = {"features": features, "groups": {}}
    for name, (x, y, ev) in groups.items():
        out["groups"][name] = fit_group(x, y, ev, args.l2)
    t2 = time.monotonic()
    out["read_seconds"] = t1 - t0
    out["fit_seconds"] = t2 - t1
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as e:
        print(f"ml_models_sklearn: {e}", file=sys.stderr)
        sys.exit(2)
