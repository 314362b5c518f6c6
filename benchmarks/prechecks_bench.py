"""Pre-checks speed: one proposal against a large consultation (run by hand, figures in README.md).

    .venv/bin/python benchmarks/prechecks_bench.py [--proposals 34000] [--queries 300]

Measures, in the same run:
- floor: a brute-force Jaccard scan of one proposal against every other proposal's trigram set
  (what a naive duplicate check costs);
- index: DuplicateIndex.similar for the same proposal (prefix-filtered inverted index);
- full: run_prechecks with the shipped charter and the prebuilt index (every check);
- build: building the index once for the whole consultation.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass

from moderator_app.core.charter import default_charter_dir, load_charter
from moderator_app.core.charter.prechecks import (
    DuplicateIndex,
    normalize_for_duplicates,
    run_prechecks,
)

# Vocabulary for synthetic proposals; about one in ten is a near copy of an earlier one.
VERBS = [
    "former",
    "accompagner",
    "embaucher",
    "financer",
    "orienter",
    "suivre",
    "loger",
    "aider",
    "recruter",
    "encadrer",
    "valoriser",
    "certifier",
    "informer",
    "préparer",
    "rémunérer",
    "soutenir",
    "équiper",
    "parrainer",
    "reconnaître",
    "simplifier",
]
WHO = [
    "détenus",
    "sortants",
    "condamnés",
    "jeunes",
    "femmes",
    "détenues",
    "personnes",
    "libérées",
    "apprentis",
    "stagiaires",
    "travailleurs",
    "conseillers",
    "employeurs",
    "tuteurs",
    "surveillants",
    "familles",
]
NOUNS = [
    "métiers",
    "bâtiment",
    "emploi",
    "durable",
    "entrée",
    "détention",
    "tuteur",
    "entreprise",
    "permis",
    "conduire",
    "chantiers",
    "insertion",
    "formation",
    "qualifiante",
    "numérique",
    "cuisine",
    "logistique",
    "agriculture",
    "contrat",
    "salaire",
    "stage",
    "atelier",
    "diplôme",
    "logement",
    "transport",
    "santé",
    "mission",
    "locale",
    "réseau",
    "artisanat",
    "restauration",
    "mécanique",
    "informatique",
    "espaces",
    "verts",
    "propreté",
    "nettoyage",
    "vente",
    "accueil",
]
LINKS = ["pour", "avec", "dans", "par", "grâce", "vers", "dès", "pendant", "après", "sans"]


def proposal(rng: random.Random, earlier: list[str]) -> str:
    if earlier and rng.random() < 0.1:
        words = rng.choice(earlier).split()
        words[rng.randrange(2, len(words))] = rng.choice(NOUNS)  # a small edit
        return " ".join(words)
    words = [rng.choice(VERBS), "les", rng.choice(WHO)]
    for _ in range(rng.randint(2, 5)):
        words += [rng.choice(LINKS), rng.choice(NOUNS)]
    return "Il faut " + " ".join(words)


@dataclass(frozen=True)
class Question:
    language: str


def shingles(text: str) -> frozenset[str]:
    padded = f" {normalize_for_duplicates(text)} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proposals", type=int, default=34_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(20261129)
    texts: list[str] = []
    for _ in range(args.proposals):
        texts.append(proposal(rng, texts))
    queries = [proposal(rng, texts) for _ in range(args.queries)]
    charter = load_charter(default_charter_dir())

    started = time.perf_counter()
    index = DuplicateIndex(texts)
    build = time.perf_counter() - started
    sets = [shingles(text) for text in texts]

    floor, indexed, full = [], [], []
    for query in queries:
        started = time.perf_counter()
        q = shingles(query)
        brute = [i for i, s in enumerate(sets) if len(q & s) / len(q | s) >= index.threshold]
        floor.append(time.perf_counter() - started)

        started = time.perf_counter()
        found = index.similar(query)
        indexed.append(time.perf_counter() - started)
        assert sorted(i for i, _ in found) == brute  # same answer as the floor

        started = time.perf_counter()
        run_prechecks(query, Question("fr"), charter=charter, others=index)
        full.append(time.perf_counter() - started)

    print(f"{args.proposals} proposals, {args.queries} queries")
    print(f"build index      {build * 1e3:10.1f} ms (once)")
    print(f"floor brute scan {median_us(floor):10.0f} us median per proposal")
    print(f"index similar    {median_us(indexed):10.0f} us median per proposal")
    print(f"run_prechecks    {median_us(full):10.0f} us median per proposal")
    print(f"ratio floor/index {statistics.median(floor) / statistics.median(indexed):9.1f}x")


if __name__ == "__main__":
    main()
