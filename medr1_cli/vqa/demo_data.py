"""`builtin:omnimedvqa`: a small synthetic VQA set in the Med-R1 JSON format, generated once per machine.

Each of the eight modalities has its own drawn texture (a CT's round body section, an X-ray's ribs,
an ultrasound fan, a fundus disc, OCT's layers, …) and every image carries 0–3 marked regions at a
seeded position and size, so all five question types have an answer that is visible in the image:
modality (the texture), anatomy (where the regions are), diagnosis (whether there are any), lesion
grading (their size) and other attributes (how many). The images are drawings, not medical images.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from medr1_cli.vqa.omnimedvqa import MODALITIES
from medr1_cli.fsutil import atomic_directory, cache_dir

VERSION = 1
SIZE = 64
ITEMS_PER_TYPE = 2  # per modality and question type: 8 × 5 × 2 = 80 questions
FILE_NAME = "omnimedvqa.json"


def demo_folder() -> Path:
    return cache_dir() / "data" / f"omnimedvqa-demo-v{VERSION}"


def demo_file() -> Path:
    """The generated JSON (images beside it in images/), built on first use."""
    folder = demo_folder()
    if not (folder / FILE_NAME).is_file():
        with atomic_directory(folder) as tmp:
            write_demo(tmp)
    return folder / FILE_NAME


def write_demo(folder: Path, seed: int = 0) -> Path:
    rng = random.Random(seed)
    rows = []
    for modality in MODALITIES:
        (folder / "images" / _slug(modality)).mkdir(parents=True, exist_ok=True)
        for kind, ask in QUESTIONS.items():
            for n in range(ITEMS_PER_TYPE):
                regions = _regions(rng, at_least=0 if kind == "Disease Diagnosis" else 1)
                image = f"images/{_slug(modality)}/{_slug(kind)}-{n}.png"
                _draw(modality, regions, rng).save(folder / image)
                question, options, answer = ask(modality, regions, rng)
                letters = "ABCDEFGH"[: len(options)]
                problem = f"{question} " + ", ".join(f"{letter}){text}" for letter, text in zip(letters, options))
                rows.append({"id": f"demo-vqa-{_slug(modality)}-{_slug(kind)}-{n}", "image": image, "problem": problem,
                             "solution": f"<answer> {letters[options.index(answer)]} </answer>",
                             "modality": modality, "question_type": kind})
    (folder / FILE_NAME).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return folder / FILE_NAME


# ------------------------------------------------------------------------------- questions
def _shuffled(rng: random.Random, answer: str, others: list[str], k: int = 3) -> list[str]:
    options = [answer, *rng.sample([o for o in others if o != answer], k)]
    rng.shuffle(options)
    return options


def _ask_modality(modality, regions, rng):
    return "What imaging modality was used to obtain this image?", _shuffled(rng, modality, list(MODALITIES)), modality


def _ask_anatomy(modality, regions, rng):
    x = regions[0][0]
    side = "left half" if x < SIZE / 2 else "right half"
    return ("In which part of the image is the marked region?",
            _shuffled(rng, side, ["left half", "right half", "top edge only", "outside the image"]), side)


def _ask_diagnosis(modality, regions, rng):
    answer = "abnormal: marked regions present" if regions else "normal: no marked region"
    return "Which finding does this image show?", [
        "normal: no marked region", "abnormal: marked regions present"], answer


def _ask_grading(modality, regions, rng):
    radius = regions[0][2]
    grade = "grade 1 (small)" if radius <= 5 else "grade 2 (medium)" if radius <= 8 else "grade 3 (large)"
    return "What grade is the largest marked region by size?", [
        "grade 1 (small)", "grade 2 (medium)", "grade 3 (large)"], grade


def _ask_count(modality, regions, rng):
    count = str(len(regions))
    return "How many marked regions are visible?", _shuffled(rng, count, ["1", "2", "3", "4"]), count


QUESTIONS = {
    "Modality Recognition": _ask_modality,
    "Anatomy Identification": _ask_anatomy,
    "Disease Diagnosis": _ask_diagnosis,
    "Lesion Grading": _ask_grading,
    "Other Biological Attributes": _ask_count,
}


# --------------------------------------------------------------------------------- drawing
def _regions(rng: random.Random, at_least: int) -> list[tuple[int, int, int]]:
    """(x, y, radius) of 0–3 marked regions, the largest first."""
    count = rng.randint(at_least, 3)
    regions = [(rng.randint(12, SIZE - 12), rng.randint(12, SIZE - 12), rng.randint(3, 11)) for _ in range(count)]
    return sorted(regions, key=lambda r: -r[2])


def _draw(modality: str, regions, rng: random.Random):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (SIZE, SIZE), "black")
    draw = ImageDraw.Draw(image)
    shade = rng.randint(-15, 15)
    if modality == "CT":
        draw.ellipse((4, 8, SIZE - 4, SIZE - 8), fill=(110 + shade,) * 3)
        draw.ellipse((24, 26, 40, 40), fill=(200,) * 3)
    elif modality == "MRI":
        draw.ellipse((8, 4, SIZE - 8, SIZE - 4), fill=(70 + shade,) * 3)
        draw.ellipse((16, 12, SIZE - 16, SIZE - 12), outline=(180,) * 3, width=3)
    elif modality == "X-Ray":
        for y in range(10, SIZE - 6, 8):
            draw.arc((6, y - 6, SIZE - 6, y + 10), 200, 340, fill=(220 + shade // 2,) * 3, width=2)
    elif modality == "Ultrasound":
        draw.pieslice((-SIZE // 2, -SIZE // 3, SIZE * 3 // 2, SIZE * 4 // 3), 55, 125, fill=(60 + shade,) * 3)
        for _ in range(120):
            x, y = rng.randrange(SIZE), rng.randrange(SIZE)
            if image.getpixel((x, y))[0] > 0:
                draw.point((x, y), fill=(160,) * 3)
    elif modality == "Dermoscopy":
        draw.rectangle((0, 0, SIZE, SIZE), fill=(225, 180 + shade, 150))
    elif modality == "Fundus Photography":
        draw.ellipse((4, 4, SIZE - 4, SIZE - 4), fill=(200 + shade, 90, 30))
        draw.ellipse((40, 26, 50, 36), fill=(250, 220, 150))
        for end in ((8, 10), (10, 54), (56, 8), (58, 56)):
            draw.line((45, 31, *end), fill=(140, 20, 20), width=1)
    elif modality == "OCT":
        for i, y in enumerate(range(18, 48, 5)):
            draw.rectangle((0, y, SIZE, y + 3), fill=((90 + 25 * i + shade) % 256,) * 3)
    else:  # Microscopy
        draw.rectangle((0, 0, SIZE, SIZE), fill=(240, 200 + shade, 220))
        for _ in range(10):
            x, y = rng.randrange(SIZE), rng.randrange(SIZE)
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(150, 90, 170))
    for x, y, radius in regions:  # the marked regions: a bright ring, the same on every modality
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=(255, 255, 0), width=2)
    return image


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")
