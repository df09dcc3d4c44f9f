"""Demo job: logistic regression on the synthetic patient records, in pure Python (no dependencies).

Runs inside the runner's workspace: reads every CSV in $CCGATE_INPUTS, predicts 30-day readmission
from age, BMI, systolic blood pressure, HbA1c and smoking, and writes the fitted model and its
metrics to $CCGATE_OUTPUT. It opens no network connection (the runner gives it none).
"""

import csv
import json
import math
import os
import sys
from pathlib import Path

FEATURES = ("age", "bmi", "systolic_bp", "hba1c", "smoker")


def load(inputs: Path) -> tuple[list[list[float]], list[int]]:
    rows: list[list[float]] = []
    labels: list[int] = []
    for path in sorted(inputs.iterdir()):
        with open(path, newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                rows.append([float(record[name]) for name in FEATURES])
                labels.append(int(record["readmitted"]))
    return rows, labels


def standardise(rows: list[list[float]]) -> tuple[list[list[float]], list[float], list[float]]:
    columns = list(zip(*rows, strict=True))
    means = [sum(column) / len(column) for column in columns]
    scales = [
        math.sqrt(sum((v - m) ** 2 for v in column) / len(column)) or 1.0
        for column, m in zip(columns, means, strict=True)
    ]
    scaled = [[(v - m) / s for v, m, s in zip(row, means, scales, strict=True)] for row in rows]
    return scaled, means, scales


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def train(rows: list[list[float]], labels: list[int], epochs: int, rate: float) -> list[float]:
    weights = [0.0] * (len(rows[0]) + 1)
    n = len(rows)
    for _ in range(epochs):
        gradient = [0.0] * len(weights)
        for row, label in zip(rows, labels, strict=True):
            error = sigmoid(weights[0] + sum(w * x for w, x in zip(weights[1:], row, strict=True))) - label
            gradient[0] += error
            for index, value in enumerate(row, start=1):
                gradient[index] += error * value
        weights = [w - rate * g / n for w, g in zip(weights, gradient, strict=True)]
    return weights


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    inputs, output = Path(os.environ["CCGATE_INPUTS"]), Path(os.environ["CCGATE_OUTPUT"])
    rows, labels = load(inputs)
    scaled, means, scales = standardise(rows)
    split = int(len(scaled) * 0.8)
    weights = train(scaled[:split], labels[:split], epochs, rate=0.5)
    correct = 0
    for row, label in zip(scaled[split:], labels[split:], strict=True):
        probability = sigmoid(weights[0] + sum(w * x for w, x in zip(weights[1:], row, strict=True)))
        correct += int((probability >= 0.5) == bool(label))
    accuracy = correct / max(1, len(scaled) - split)
    model = {
        "features": FEATURES,
        "intercept": weights[0],
        "coefficients": weights[1:],
        "means": means,
        "scales": scales,
    }
    (output / "model.json").write_text(json.dumps(model, indent=2))
    metrics = {
        "records": len(rows),
        "train": split,
        "test": len(rows) - split,
        "epochs": epochs,
        "accuracy": accuracy,
    }
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"trained on {split} records, held-out accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
