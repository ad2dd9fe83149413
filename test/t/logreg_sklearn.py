#!/usr/bin/python3
"""Reference values from scikit-learn for wib's logistic regression and metrics.

Reads a CSV (a path, or standard input when the path is omitted or "-") with a
header row.  Columns:
  label        the class, true/false, t/f or 1/0 (required)
  score        optional: roc_auc_score(label, score) is reported
  probability  optional: log_loss (eps = 1e-15) and brier_score_loss are reported
  anything else is a feature, in column order.

For each --l2 value (default 1.0) it fits
  LogisticRegression(C=1/l2, solver="newton-cholesky", tol=1e-10, max_iter=1000)
(penalty=None for l2 = 0), which minimizes sum(log-loss) + l2/2 * ||w||^2 like
wib.logreg_fit, and prints the intercept and coefficients on the original
scale.  Output is one JSON object on standard output.

  /usr/bin/python3 ml_sklearn_check.py data.csv --l2 0 --l2 1 --l2 100
  psql -c "COPY (...) TO STDOUT WITH CSV HEADER" | /usr/bin/python3 ml_sklearn_check.py --l2 0.5

Needs Debian's python3-sklearn (scikit-learn 1.2 or later for newton-cholesky).
"""
import argparse
import csv
import json
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

TRUE = {"true", "t", "1", "yes", "y"}
FALSE = {"false", "f", "0", "no", "n"}


def parse_label(text):
    v = text.strip().lower()
    if v in TRUE:
        return 1
    if v in FALSE:
        return 0
    raise ValueError(f"label {text!r} is not true/false, t/f or 1/0")


def read_csv(stream):
    reader = csv.reader(stream)
    header = [h.strip() for h in next(reader)]
    if "label" not in header:
        raise ValueError("the CSV needs a column named label")
    rows = [r for r in reader if r]
    cols = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    labels = np.array([parse_label(v) for v in cols["label"]], dtype=np.int64)
    special = {"label", "score", "probability"}
    features = [h for h in header if h not in special]
    x = np.array([[float(r[header.index(f)]) for f in features] for r in rows],
                 dtype=np.float64).reshape(len(rows), len(features))
    extra = {k: np.array([float(v) for v in cols[k]], dtype=np.float64)
             for k in ("score", "probability") if k in cols}
    return features, x, labels, extra


def fit(x, y, l2):
    if l2 == 0:
        model = LogisticRegression(penalty=None, solver="newton-cholesky",
                                   tol=1e-10, max_iter=1000)
    else:
        model = LogisticRegression(C=1.0 / l2, solver="newton-cholesky",
                                   tol=1e-10, max_iter=1000)
    model.fit(x, y)
    return {
        "l2": l2,
        "C": None if l2 == 0 else 1.0 / l2,
        "intercept": float(model.intercept_[0]),
        "coef": [float(c) for c in model.coef_[0]],
        "coefficients": [float(model.intercept_[0])] + [float(c) for c in model.coef_[0]],
        "n_iter": int(model.n_iter_[0]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="?", default="-", help="CSV path, or - for standard input")
    ap.add_argument("--l2", type=float, action="append",
                    help="penalty (repeatable); C = 1/l2, 0 = no penalty")
    args = ap.parse_args()
    if args.csv == "-":
        features, x, y, extra = read_csv(sys.stdin)
    else:
        with open(args.csv, newline="") as f:
            features, x, y, extra = read_csv(f)

    out = {"sklearn_version": sklearn.__version__, "n_rows": int(len(y)),
           "features": features, "fits": []}
    if features:
        for l2 in args.l2 or [1.0]:
            if l2 < 0:
                raise ValueError("l2 must be >= 0")
            out["fits"].append(fit(x, y, l2))
    if "score" in extra:
        out["roc_auc"] = float(roc_auc_score(y, extra["score"]))
    if "probability" in extra:
        p = extra["probability"]
        out["log_loss"] = float(log_loss(y, p, eps=1e-15, labels=[0, 1]))
        out["brier_score"] = float(brier_score_loss(y, p))
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as e:
        print(f"ml_sklearn_check: {e}", file=sys.stderr)
        sys.exit(2)
