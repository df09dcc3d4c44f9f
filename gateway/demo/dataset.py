"""The demo's dataset: synthetic patient records with a learnable readmission signal."""

import csv
import random
from pathlib import Path


def write_sample_patients(path: Path, rows: int, seed: int = 7) -> None:
    """Write a CSV of synthetic patient records (no real person: every value is drawn from a seeded RNG)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data, not secrets.
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", "age", "sex", "bmi", "systolic_bp", "hba1c", "smoker", "readmitted"])
        for n in range(rows):
            age = rng.randint(18, 90)
            bmi = round(rng.gauss(27, 5), 1)
            systolic = int(rng.gauss(125 + age / 4, 15))
            hba1c = round(rng.gauss(5.6 + (bmi - 27) / 20, 0.8), 1)
            smoker = rng.random() < 0.2
            risk = (
                -6
                + age / 30
                + (bmi - 27) / 6
                + (systolic - 120) / 40
                + (hba1c - 5.6)
                + (0.8 if smoker else 0)
            )
            readmitted = rng.random() < 1 / (1 + 2.718281828 ** (-risk))
            writer.writerow(
                [f"P{n:07d}", age, rng.choice("FM"), bmi, systolic, hba1c, int(smoker), int(readmitted)]
            )
