"""Answer-extraction throughput: medr1's extractor beside a difflib fuzzy matcher.

The reference evaluators fall back to difflib similarity between the output and each option, so they
always return *some* letter. This prints, for the same synthetic completions of realistic length
(2–8 KB of reasoning, then an answer in one of the forms models write), completions per second on
one core for both, and how often each one reads the intended answer or invents one.

Then it times inputs built to make a regex backtrack, and counts *false readings*: replies a careful
scorer refuses (they weigh, ask about, hedge or reverse an answer) that the extractor reads anyway.

    python benchmarks/extraction.py [--n 100000] [--peer-n 2000] [--seed 0] [--adversarial-only]
"""

from __future__ import annotations

import argparse
import difflib
import random
import time

from medr1_cli.answers import LETTERS, extract_answer

WORDS = (
    "patient fever cough anemia iron ferritin biopsy murmur creatinine sodium sepsis infarction stroke "
    "therefore however consider exclude likely unlikely because diagnosis mechanism treatment finding"
).split()


def make_completion(rng: random.Random) -> tuple[str, dict[str, str], str | None]:
    """A completion, its options, and the letter it intends (None: it gives no readable answer)."""
    n_options = rng.choice([4, 5, 10])
    options = {LETTERS[i]: " ".join(rng.choices(WORDS, k=3)) for i in range(n_options)}
    letter = rng.choice(list(options))
    reasoning, target = [], rng.randint(2000, 8000)
    while sum(len(s) for s in reasoning) < target:
        sentence = " ".join(rng.choices(WORDS, k=rng.randint(6, 18)))
        if rng.random() < 0.05:  # letters mentioned while reasoning must not count
            sentence += f" Option {rng.choice(list(options))} seems possible."
        reasoning.append(sentence.capitalize() + ".")
    think = "<think>\n" + "\n".join(reasoning) + "\n</think>\n"
    form = rng.random()
    if form < 0.45:
        return think + f"<answer>{letter}</answer>", options, letter
    if form < 0.60:
        return think + f"The answer is **{letter}**.", options, letter
    if form < 0.70:
        return think + f"Final answer: \\boxed{{{letter}}}", options, letter
    if form < 0.78:
        return think + f"<answer>{options[letter]}</answer>", options, letter
    if form < 0.88:
        return think + "I cannot decide between the options.", options, None
    return think[: len(think) // 2], options, None  # truncated mid-thought


def fuzzy_letter(completion: str, options: dict[str, str]) -> str:
    """The reference-style fallback: the option most similar to the end of the output."""
    tail = completion[-300:]
    return max(options, key=lambda k: difflib.SequenceMatcher(None, tail, f"{k}. {options[k]}").ratio())


def rate(items, read) -> tuple[float, list]:
    started = time.process_time()  # CPU time of this process: one core, whatever else the machine does
    answers = [read(text, options) for text, options, _ in items]
    return len(items) / (time.process_time() - started), answers


def agreement(items, answers) -> tuple[float, float]:
    """(share of answerable items read correctly, share of unanswerable items given a letter anyway)."""
    answerable = [(a, i[2]) for a, i in zip(answers, items) if i[2] is not None]
    unanswerable = [a for a, i in zip(answers, items) if i[2] is None]
    right = sum(a == intended for a, intended in answerable) / max(1, len(answerable))
    invented = sum(a is not None for a in unanswerable) / max(1, len(unanswerable))
    return right, invented


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="completions for medr1")
    parser.add_argument("--peer-n", type=int, default=2_000, help="completions for the (much slower) fuzzy matcher")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adversarial-only", action="store_true",
                        help="only the adversarial timings and false readings")
    args = parser.parse_args()
    if args.adversarial_only:
        adversarial()
        return

    rng = random.Random(args.seed)
    items = [make_completion(rng) for _ in range(args.n)]
    mean_kb = sum(len(t) for t, _, _ in items) / len(items) / 1024

    medr1_rate, medr1_answers = rate(items, lambda t, o: extract_answer(t, o).letter)
    peer_items = items[: args.peer_n]
    peer_rate, peer_answers = rate(peer_items, fuzzy_letter)

    print(f"{args.n} synthetic completions, mean {mean_kb:.1f} KB; fuzzy matcher on the first {args.peer_n}")
    print(f"{'extractor':<18}{'completions/s':>15}{'reads intended':>16}{'invents a letter':>18}")
    for label, speed, its_items, answers in (
        ("medr1", medr1_rate, items, medr1_answers),
        ("difflib fuzzy", peer_rate, peer_items, peer_answers),
    ):
        right, invented = agreement(its_items, answers)
        print(f"{label:<18}{speed:>15,.0f}{right:>16.1%}{invented:>18.1%}")
    print(f"medr1 / fuzzy speed: {medr1_rate / peer_rate:,.1f}x")
    verdict = "meets" if medr1_rate >= 20_000 else "MISSES"
    print(f"target: >= 20,000 completions/s on one core -> {verdict}")
    adversarial()


TEN = {letter: f"finding number {i}" for i, letter in enumerate("ABCDEFGHIJ")}
PUBMEDQA = {"A": "yes", "B": "no", "C": "maybe"}
ADVERSARIAL = {  # label: (completion, options)
    "50 KB of answer phrases that say nothing": ("The answer is xyz. " * 2700, TEN),
    "7,000 boxes that never close": ("\\boxed{" * 7000, TEN),
    "an answer nested 5,000 deep": ("<answer>" + "\\text{" * 5000 + "C" + "}" * 5000 + "</answer>", TEN),
    # each bold span's sentence is searched for words that reject it: bounded, or this is quadratic
    "6,000 bold spans after a heading": ("## Final Response\n\n" + "**x** and " * 6000, TEN),
    "8,000 bold spans in one paragraph": ("**x** " * 8000, TEN),
    "a 54 KB sentence opening 'Yes,'": ("## Final Response\n\nYes, " + "e.g. and " * 6000, PUBMEDQA),
}

SARCOID = {"A": "Lymphoma", "B": "Tuberculosis", "C": "Sarcoidosis", "D": "Histoplasmosis"}
HEADING = "## Thinking\n\nThe trial randomised 240 patients.\n\n## Final Response\n\n"
# Replies that must not be read: each weighs, asks about, hedges or reverses. Most are the traps of the two styles
# read since #24 (a yes/no/maybe opening the final section; a bold "C. text" in a one-paragraph reply).
MUST_NOT_READ = [
    (HEADING + "Yes and no; it depends on the subgroup.", PUBMEDQA),
    (HEADING + "Yes, but maybe only in patients over 70.", PUBMEDQA),
    (HEADING + "No. Actually, yes: the later trials show a benefit.", PUBMEDQA),
    (HEADING + "Yes, no, or maybe: one trial cannot settle it.", PUBMEDQA),
    (HEADING + "Yes/no questions like this cannot be settled by one trial.", PUBMEDQA),
    (HEADING + "Yes? The data are too thin to say.", PUBMEDQA),
    (HEADING + "No, but is the effect clinically meaningful?", PUBMEDQA),
    (HEADING + "No doubt the trial was small, so the effect is uncertain.", PUBMEDQA),
    (HEADING + "Yes, it depends on the dose.", PUBMEDQA),
    (HEADING + "The authors argue that yes, it helps, but the data disagree.", PUBMEDQA),
    ("Yes and no: the trial was underpowered.", PUBMEDQA),
    ("Is it **C. Sarcoidosis**? No, the calcium is normal.", SARCOID),
    (HEADING + "Is it **C. Sarcoidosis**? No, the calcium is normal.", SARCOID),
    ("The picture is not **C. Sarcoidosis**, given the caseating granulomas.", SARCOID),
    ("It is **C. Sarcoidosis** or **A. Lymphoma**; only a biopsy decides.", SARCOID),
    ("The most likely diagnosis is **C. Sarcoidosis** or lymphoma.", SARCOID),
    (HEADING + "The most likely diagnosis is **C. Sarcoidosis** or lymphoma.", SARCOID),
    ("Option **B** is tempting, but **C. Sarcoidosis** fits the nodes.", SARCOID),
    (HEADING + "Option **B** is tempting, but **C. Sarcoidosis** fits the nodes.", SARCOID),
    ("If it were **C. Sarcoidosis**, the ACE would be raised.", SARCOID),
    ("Given the nodes, **C. Sarcoidosis** seems less likely than **B. Tuberculosis**.", SARCOID),
    ("The nodes fit **C. Sarcoidosis** versus **A. Lymphoma** equally.", SARCOID),
]


def adversarial() -> None:
    """Inputs built to make a regex backtrack: each must be read in well under a quarter second. Then the
    replies that must not be read: any letter read from one is a false reading."""
    print("\nadversarial completions (target: under 0.25 s each)")
    for label, (completion, options) in ADVERSARIAL.items():
        started = time.perf_counter()
        letter = extract_answer(completion, options).letter
        seconds = time.perf_counter() - started
        print(f"  {label:<44}{seconds * 1000:>8.1f} ms  read: {letter}  -> {'meets' if seconds < 0.25 else 'MISSES'}")
    false = [(text, read) for text, options in MUST_NOT_READ if (read := extract_answer(text, options)).letter]
    print(f"\nreplies that must not be read: {len(false)} false readings of {len(MUST_NOT_READ)} (target: 0)")
    for text, read in false:
        print(f"  read {read.letter} by {read.rule}: {text.removeprefix(HEADING)[:70]!r}")


if __name__ == "__main__":
    main()
