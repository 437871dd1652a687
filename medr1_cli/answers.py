"""The one answer extractor, shared by the accuracy rewards and by evaluation.

A model is trained toward exactly what it is judged on, so both call `extract_answer`. The rules,
in order (DESIGN §2.4), never guess:

1. Only the text after the last `</think>` is the final answer. A completion whose `<think>` was
   pre-filled by the chat template has no opening tag; its `</think>` still splits reasoning from
   answer. Without `</think>`, a section heading that starts the answer — HuatuoGPT-o1's
   "## Final Response" (also as a bold line), or "Final Answer" as a markdown heading — splits it the
   same way (the model's own style of ending its reasoning). A completion that opened `<think>`
   (or, with `require_think`, was expected to think) and has neither is *unfinished* (status
   `unclosed_think`): it ran out of tokens mid-thought, or ignored the format — whether it hit its
   token limit is for the caller to say.
2. The last complete `<answer>…</answer>` (in any letter case).
3. Else the last complete `\\boxed{…}` (also `\\boxed{\\text{B}}`, `\\boxed{B. text}`).
4. Else the last "answer is / answer: / the correct option is" phrase, tolerant of markdown,
   quotes, inline math and punctuation (`**B**`, `(B)`, `'B'`, `$B$`, `B.`, `B) text`), on one
   line (only a heading "Final answer:" may put the answer alone on the next). A bare "answer B"
   with no verb or colon only counts for a letter standing alone.
5. Else bold text in the answer's last paragraph naming exactly one option by its text
   ("**B. Pulmonary atresia** is the most likely diagnosis"). After a boundary (`</think>` or a
   final-answer heading) the bold text alone names it; without one, only a reply of one paragraph
   counts, and only a bold "letter and text" ("**C. Sarcoidosis**"): with no boundary nothing says
   which text is the answer, and a bold term alone is as often emphasis in reasoning. Bold spans naming
   two options (a bold lone letter names one too) decide nothing, nor do spans the sentence rejects,
   asks about, puts under a condition or weighs against another ("**X** is ruled out", "not **X**",
   "both **X** and Y", "**X** or Y", "Is it **X**?", "If it were **X**"), nor a bold yes/no.
6. Else the whole final text is a bare answer: a letter, a letter with its option text, or exactly
   one option's text.
7. Else, for a yes/no(/maybe) question (its option texts are those words, as PubMedQA's) and after a
   boundary only, the word that opens the final section: "Yes, the trial shows…", "No. The
   difference…" (HuatuoGPT-o1's "## Final Response" on PubMedQA). The word must stand alone ("Yes and
   no", "Yes/no", "No doubt" are not verdicts), and its sentence (the next one after "No.") must not
   ask or name another verdict ("Yes, but maybe…", "No. Actually, yes"); "no" before a word is a
   determiner ("no significant difference"), not a verdict.
8. Otherwise *unparseable*: scored wrong, counted separately.

Once a rule finds an answer span, that span decides: unreadable content is unparseable, a letter
that is not an option of this question is wrong, and several different letters are wrong.
Option texts count too, so PubMedQA's yes / no / maybe answers map to their letters; they are read
before a leading letter ("B cells" is an option's text), though a lone letter stays a letter.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Rule = Literal["answer_tag", "boxed", "answer_phrase", "bold_option", "bare_answer", "yes_no_opening"]
Status = Literal["answered", "unclosed_think", "unparseable", "invalid_letter", "several_letters"]
# How the completion separated its reasoning from its answer: `</think>`, a "Final Response"-style
# heading, or not at all.
Boundary = Literal["think", "final_heading", "none"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BARE_ANSWER_MAX_CHARS = 300  # a longer final text is prose, not a bare answer


@dataclass(frozen=True, slots=True)
class Extraction:
    """What a completion answered. `letter` is set only for a valid, unambiguous answer."""

    letter: str | None
    status: Status
    rule: Rule | None = None
    detail: str = ""
    boundary: Boundary = "none"

    @property
    def unclosed_think(self) -> bool:
        """The reasoning was opened (or required) and never ended."""
        return self.status == "unclosed_think"

    @property
    def unparseable(self) -> bool:
        return self.status == "unparseable"

    def is_correct(self, solution: str) -> bool:
        return self.letter is not None and self.letter == solution.strip().upper()


OptionsLike = Mapping[str, str] | Sequence[str]


def normalise_options(options: OptionsLike) -> dict[str, str]:
    """Options as {letter: text}; a plain list gets letters A, B, C, … in order."""
    if isinstance(options, Mapping):
        return {str(k).strip().upper(): str(v) for k, v in options.items() if v is not None}
    return {LETTERS[i]: str(text) for i, text in enumerate(options)}


def extract_answer(completion: str, options: OptionsLike, *, require_think: bool = False) -> Extraction:
    """Find the answer letter in `completion` for a question with these `options`.

    `require_think`: the model was asked to think first (or the template pre-filled `<think>`), so
    a completion that neither closes it nor starts a final-answer section never finished reasoning.
    """
    text = completion or ""
    close = text.rfind("</think>")
    if close >= 0:
        final, boundary = text[close + len("</think>") :], "think"
        if (heading := _last_final_heading(final)) is not None:  # "</think> … **Final Answer**\n\nB"
            final = final[heading:]
    elif "<think>" not in text and (heading := _last_final_heading(text)) is not None:
        # (a heading inside an opened, never closed <think> is a draft, not the end of reasoning)
        final, boundary = text[heading:], "final_heading"
    elif require_think or "<think>" in text:
        return Extraction(None, "unclosed_think", detail="no </think> and no final-answer heading: the reasoning "
                          "never ended")
    else:
        final, boundary = text, "none"
    verdict = _read_final(final, _Options(options), after_boundary=boundary != "none")
    return Extraction(verdict.letter, verdict.status, verdict.rule, verdict.detail, boundary)


def _read_final(final: str, choices: _Options, *, after_boundary: bool) -> Extraction:
    tag = _last_answer_tag(final)
    if tag is not None:
        return _judge(tag, choices, "answer_tag")

    boxed = _last_boxed(final)
    if boxed is not None:
        return _judge(boxed, choices, "boxed")

    phrase = _last_answer_phrase(final, choices)
    if phrase is not None:
        return phrase

    bold = _bold_option(final, choices, after_boundary=after_boundary)
    if bold is not None:
        return bold

    if len(final) <= _BARE_ANSWER_MAX_CHARS and final.strip():
        verdict = _judge(final, choices, "bare_answer", letter_needs_delimiter=True)
        if verdict.status != "unparseable":
            return verdict

    # After the bare answer, so that a final section of just "No." stays a bare answer.
    opening = _yes_no_opening(final, choices) if after_boundary else None
    if opening is not None:
        return opening
    return Extraction(None, "unparseable", detail="no answer tag, \\boxed{}, answer phrase, bold option, bare answer "
                      "or yes/no opening")


# What starts the answer section, at the start of a line: a markdown heading "## Final Response" /
# "### Final Answer:" / "## Final Response: B", a bold "**Final Response**" / "**Final Response:** B", or a
# bold "**Final Answer**" alone on its line. ("**Final answer:** B" stays an answer phrase.)
_FINAL_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*(?:\*\*)?[ \t]*final[ \t]+(?:response|answer)[ \t]*(?:\*\*)?[ \t]*:?(?:[ \t]*\*\*)?"
    r"|\*\*[ \t]*final[ \t]+response[ \t]*:?[ \t]*\*\*[ \t]*:?"
    r"|\*\*[ \t]*final[ \t]+answer[ \t]*\*\*(?=[ \t]*$))",
    re.IGNORECASE | re.MULTILINE,
)


def _last_final_heading(text: str) -> int | None:
    """Where the text after the last final-answer heading line begins, if there is one."""
    if "inal" not in text:  # "Final" / "final": most completions have no such heading
        return None
    last = None
    for last in _FINAL_HEADING.finditer(text):
        pass
    return None if last is None else last.end()


_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*|__([^_\n]{1,200})__")


# Words that make a bold option text a rejection, a comparison or a hedge, not the answer: before it in its
# sentence, an "or" right before it ("lymphoma or **X**"), or a condition whose clause holds it ("If it were
# **X**, …"; a condition its sentence has closed with a comma does not: "If the ACE is raised, it is **X**").
_NOT_CHOSEN_BEFORE = re.compile(r"\b(?:not|no|nor|neither|either|both|unlikely|rather than|instead of|exclude[sd]?|"
                                r"ruled? out|versus|vs\.?|less likely|than)\b[^.!?]*$|\bor\s*$"
                                r"|\b(?:if|whether|unless)\b[^,;:.!?]*$", re.IGNORECASE)
# After it: a verb that rejects it, an alternative right after it ("**X** or Y", "**X** vs **Y**": the first
# is weighed as much as the second), or a sentence that ends as a question ("Is it **X**? No, …").
_NOT_CHOSEN_AFTER = re.compile(r"^[^.!?]*?\b(?:is|are|was|seems|appears)\s+(?:not|un\w*|less|ruled|excluded|incorrect|"
                               r"wrong|inconsistent)\b|^[^.!?]*?\b(?:does|do|did)\s*(?:not|n't)\b"
                               r"|^[\s*_]*,?\s*(?:or|versus|vs)\b|^[^.!?]*\?", re.IGNORECASE)
# How far from a bold span its sentence is searched for such words: a sentence is rarely longer, and searching
# the whole paragraph for each of thousands of spans was quadratic (29 s for a 60 KB final section).
_CONTEXT_CHARS = 300
_BOLD_SPANS_MAX = 40  # a paragraph with more bold spans than this is emphasis throughout, not one option named
_YES_NO_MAYBE = frozenset({"yes", "no", "maybe"})  # PubMedQA's options: ordinary words, put in bold for emphasis


def _bold_option(text: str, options: _Options, *, after_boundary: bool) -> Extraction | None:
    """The one option that bold spans of the answer's last paragraph name, if exactly one; spans the sentence
    rejects, asks about or weighs against another are not a choice. Without a boundary the reply must be
    one paragraph (else its last one may be reasoning's) and name the option by letter and text."""
    if "**" not in text and "__" not in text:  # most replies have no bold at all
        return None
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if not paragraphs or (not after_boundary and len(paragraphs) > 1):
        return None
    last = paragraphs[-1]
    # letter -> how surely a span named it: 0 a bold lone letter, 1 its text, 2 its letter and text. A lone
    # letter never answers ("Option **B** is tempting") but does name a second option ("Option **B** is
    # tempting, but **C. Sarcoidosis** fits" names two).
    named: dict[str, int] = {}
    for count, match in enumerate(_BOLD.finditer(last)):
        if count == _BOLD_SPANS_MAX:
            return None
        before = last[max(0, match.start() - _CONTEXT_CHARS) : match.start()]
        after = last[match.end() : match.end() + _CONTEXT_CHARS]
        if _NOT_CHOSEN_BEFORE.search(before) or _NOT_CHOSEN_AFTER.match(after):
            continue
        span = _clean(match[1] or match[2]).rstrip(".:;,!")
        letter, sureness = _option_by_text(span, options, whole=True), 1
        if letter is None:
            lone = _LONE_LETTER.fullmatch(span)
            lead = _LEADING_LETTER.match(span)
            rest = span[lead.end(1):].lstrip(")]}.:-–— \t") if lead else ""
            if lone and lone[1].isupper() and options.has(lone[1]):
                letter, sureness = lone[1], 0
            elif lead and rest and _option_by_text(rest, options, whole=True) == lead[1].upper():
                letter, sureness = lead[1].upper(), 2
        if letter is not None and options.texts.get(letter) not in _YES_NO_MAYBE:
            named[letter] = max(named.get(letter, 0), sureness)
    if len(named) != 1:
        return None
    letter, sureness = named.popitem()
    if after_boundary and sureness >= 1:
        return Extraction(letter, "answered", "bold_option", "bold text naming one option")
    if sureness == 2:
        return Extraction(letter, "answered", "bold_option", "a one-paragraph reply's bold letter and text")
    return None


# A verdict word opening the final section, standing alone: markdown around it, then a delimiter — not "Yes and
# no", "Yes/no", "Yes?" or "No doubt".
_OPENING_VERDICT = re.compile(r"[\s*_]*(yes|no|maybe)[*_]*(?=[ \t]*(?:[.,;:!–—]|[ \t]-[ \t]|\n|$))", re.IGNORECASE)
# Another verdict in the opening sentence weighs the first ("Yes, but maybe…", "Yes, no, or maybe"), as does "it
# depends"; "no" before a word is a determiner ("no significant difference", "no one"), except before "and",
# "or", "but", "nor".
_OTHER_VERDICT = re.compile(r"\b(?:yes|maybe|no(?![ \t]+(?!(?:and|or|but|nor)\b)\w)|depends?)\b", re.IGNORECASE)
# A sentence ends at . ! ? before a capital, a line break or the end — not in "e.g. in" or "p = 0.03".
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?![ \t]*(?:[A-Z\n]|$)))*[.!?]?")


def _yes_no_opening(text: str, options: _Options) -> Extraction | None:
    """The verdict that opens the final section of a yes/no(/maybe) question's reply, if it is one."""
    texts = options.texts
    if len(texts) < 2 or not set(texts.values()) <= _YES_NO_MAYBE or len(set(texts.values())) < len(texts):
        return None  # not a yes/no question: "Yes, the nodes fit sarcoidosis" answers nothing
    opening = _OPENING_VERDICT.match(text)
    if opening is None:
        return None
    verdict = opening[1].lower()
    letter = _option_by_text(verdict, options, whole=True)
    if letter is None:  # "Maybe, …" where there is no "maybe" option
        return None
    rest = text[opening.end() : opening.end() + _CONTEXT_CHARS].lstrip(" \t*_")  # its sentence, not the section
    if rest[:1] in (".", "!", "\n", ""):
        # "No." stands as its own sentence: the one after it says whether it holds ("No. Actually, yes").
        rest = rest[1:].lstrip()
    sentence = _SENTENCE.match(rest)[0]
    if sentence.endswith("?"):  # "No, but is the effect clinically meaningful?"
        return None
    if any(word.lower() != verdict for word in _OTHER_VERDICT.findall(sentence)):
        return None
    return Extraction(letter, "answered", "yes_no_opening", f"the final section opens with {verdict!r}")


class _Options:
    """One question's options, normalised (by `normalise_options`) at most once per completion and
    only as far as needed: most completions just name a letter."""

    __slots__ = ("_given", "_letters", "_texts")

    def __init__(self, options: OptionsLike) -> None:
        self._given = options
        self._letters: dict[str, str] | None = None
        self._texts: dict[str, str] | None = None

    @property
    def letters(self) -> dict[str, str]:
        if self._letters is None:
            self._letters = normalise_options(self._given)
        return self._letters

    @property
    def texts(self) -> dict[str, str]:
        """{letter: normalised text}: every span is compared with these, and an adversarial
        completion can hold thousands of spans."""
        if self._texts is None:
            self._texts = {letter: _normalise_text(text) for letter, text in self.letters.items()}
        return self._texts

    def has(self, letter: str) -> bool:
        # {"B": text} already has B after normalising; only other keys ("b", " B") need the work.
        given = self._given
        return (type(given) is dict and given.get(letter) is not None) or letter in self.letters


# ------------------------------------------------------------------------------ the spans
# Searched case-insensitively on the original text: lowercasing first can change its length ("İ").
_LAST_ANSWER_OPEN = re.compile(r".*<answer>", re.IGNORECASE | re.DOTALL)
_ANSWER_CLOSE = re.compile(r"</answer>", re.IGNORECASE)


def _last_answer_tag(text: str) -> str | None:
    """Content of the last `<answer>` (any letter case), if that tag is closed."""
    opened = _LAST_ANSWER_OPEN.match(text)
    if opened is None:
        return None
    closed = _ANSWER_CLOSE.search(text, opened.end())
    return None if closed is None else text[opened.end() : closed.start()]


def _last_boxed(text: str) -> str | None:
    """Content of the last complete `\\boxed{…}`, nested braces balanced.

    A box that never closes ("I initially wrote \\boxed{") is skipped. A box that opened earlier
    and is still open where that one starts never closes either, so each earlier box is scanned
    only up to the start of the later one: the whole search stays linear.
    """
    limit = len(text)
    while (start := text.rfind("\\boxed{", 0, limit)) >= 0:
        content = start + len("\\boxed{")
        depth = 1
        for index in range(content, limit):
            char = text[index]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return text[content:index]
        limit = start
    return None


_GAP = r"[ \t*_]*"  # spaces and markdown between the words of a phrase, never a line break
_HEDGE = (  # "answer, therefore, is", "answer to this question is", "answer is indeed"
    r"(?:therefore|thus|then|hence|here|indeed|actually|ultimately|finally|clearly|certainly|definitely"
    r"|(?:most[ \t]+)?likely|probably|I[ \t]+(?:believe|think)|to[ \t]+(?:this|the)[ \t]+question)(?![a-z])"
)
# The lookahead (a word) is only there for speed: most phrases have no aside at all.
_ASIDE = rf"(?:{_GAP}(?:,{_GAP})?(?=[a-z]{{2}}|I[ \t]){_HEDGE},?)"
# Anchored on "answer" or "correct / best / right option (choice)", then an optional verb or
# separator, markdown allowed anywhere in between, all on one line.
_ANSWER_PHRASE = re.compile(
    rf"(?:answer(?P<listing>{_GAP}(?:choice|option))?|(?:correct|best|right)[ \t]+(?:option|choice))"
    rf"(?![a-z0-9]){_ASIDE}{{0,2}}"
    rf"(?P<verb>{_GAP}(?:is|was|(?:would|will|should|must)[ \t]+be|(?:seems|appears)[ \t]+to[ \t]+be)"
    r"(?![a-z]))?"
    rf"{_ASIDE}{{0,2}}(?P<separator>{_GAP}[:=\-–—])?{_GAP}(?:(?:option|choice)(?![a-z]){_GAP})?",
    re.IGNORECASE,
)
_PHRASE_CANDIDATES = 50  # only the last few phrases can be the answer; thousands would be slow
_PHRASE_SPAN_CHARS = 200
# After a bare "answer" (no verb, no colon), only a letter standing alone: "answer B." is an answer,
# "Answer A is incorrect because…" and "answer B (vitamin B12) is a distractor" discuss an option.
_STANDALONE_LETTER = re.compile(r"[^\S\n]*[(\['\"“‘]?[A-Za-z][)\]'\"”’]?(?:[.,;:!?]|[^\S\n]*$)")


def _last_answer_phrase(text: str, options: _Options) -> Extraction | None:
    """The last "answer is X" / "answer: X" / "the correct option is X" whose X is readable."""
    if not _mentions_an_anchor(text):
        return None
    for phrase in reversed(deque(_ANSWER_PHRASE.finditer(text), maxlen=_PHRASE_CANDIDATES)):
        verdict = _read_phrase(text, phrase, options)
        if verdict is not None and verdict.status != "unparseable":
            return verdict
    return None


def _mentions_an_anchor(text: str) -> bool:
    """Whether the words a phrase is anchored on occur at all: a quick test that spares most texts
    the slow case-insensitive search. (Lowering can move positions, so it only says whether.)"""
    lowered = text.lower()
    if "answer" in lowered:
        return True
    names_an_option = "option" in lowered or "choice" in lowered
    return names_an_option and any(word in lowered for word in ("correct", "best", "right"))


def _read_phrase(text: str, phrase: re.Match[str], options: _Options) -> Extraction | None:
    """What one answer phrase says, or None when it says nothing readable."""
    line = text[phrase.end() : phrase.end() + _PHRASE_SPAN_CHARS].split("\n", 1)[0]
    if phrase["verb"] is None and phrase["separator"] is None:
        if not _STANDALONE_LETTER.match(line.translate(_MARKDOWN)):
            return None
    elif not line.strip():
        # A heading "Final answer:" may put the answer alone on the next line; "each answer option:"
        # introduces a list of options instead.
        if phrase["listing"] is not None or not (phrase["separator"] or "").endswith(":"):
            return None
        line = text[phrase.end() : phrase.end() + 2 * _PHRASE_SPAN_CHARS].lstrip().split("\n", 1)[0]
        if not _is_only_an_answer(line, options):
            return None
    return _judge(line, options, "answer_phrase", exact_text=False)


def _is_only_an_answer(line: str, options: _Options) -> bool:
    """Whether the line holds nothing but an answer: "C", "**(C)**", "C. Folate" or "Folate"."""
    said = _normalise_text(_clean(line))
    letter, _, rest = said.partition(" ")
    texts = options.texts
    return said in texts.values() or (len(letter) == 1 and rest in ("", texts.get(letter.upper())))


# ----------------------------------------------------------------------- reading a span
_MARKDOWN = str.maketrans("", "", "*_`")
_LATEX_WRAPPER = re.compile(
    r"\\(?:boxed|text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox)\s*\{([^{}]*)\}"
)
_LATEX_NESTING = 4  # \boxed{\text{\textbf{C}}}; deeper nesting is not an answer, and costs a pass each
_MATH_DELIMITER = re.compile(r"\\[()\[\]]|\$")  # \( \) \[ \] $
# "Option B", "choice C: Folate" as the whole span: the word only introduces the letter.
_OPTION_WORD = re.compile(r"^(?:option|choice)(?![a-z])\s*", re.IGNORECASE)
# A letter on its own: "B", "(B)", "'B'.", "B!".
_LONE_LETTER = re.compile(r"[(\[{'\"“‘]*([A-Za-z])[)\]}'\"”’]*[.:;!?]?")
# A letter at the start: "B", "(B)", "'B'", "B.", "B) text", "B;", "B - text", "B text", "B\n…".
_LEADING_LETTER = re.compile(
    r"[\s(\[{'\"“‘]*([A-Za-z])(?![A-Za-z0-9])(?P<bracket>[)\]}]?)['\"”’]*"
    r"(?:[^\S\n]*(?P<delimiter>[.:)\-–—,;!?]|\n|$)|(?P<words>[^\S\n]+\S))"
)
# A second letter joined to the first: "B and C", "B, C", "B/C", "B or (C)".
_SECOND_LETTER = re.compile(r"\s*(?:,|and|or|&|/|\+)\s*[(\['\"“‘]?([A-Z])(?![A-Za-z0-9])")
# "I" before a lowercase word is the pronoun ("I believe", "I go with C"), except before the few
# words that follow an answer letter ("I and J", "I because…").
_PRONOUN_I = re.compile(r"I(?:\s+(?!(?:and|or|because|since)\b)[a-z]|['’][a-z])")
# A one-word option text read from the start of a longer span needs a delimiter after it:
# "no." or "no, because…" answers, "no longer in doubt" does not.
_ONE_WORD_ENDS = re.compile(r"\W*\w+(?!\w)[^\S\n]*(?:[^\w\s]|\n|$|(?<=\s)(?:because|since)\b)")
_WORD = re.compile(r"\w+")


def _judge(
    span: str,
    options: _Options,
    rule: Rule,
    *,
    exact_text: bool = True,
    letter_needs_delimiter: bool = False,
) -> Extraction:
    """Read the answer in `span`: a lone letter of this question, else an option's text (the whole
    span or, with exact_text=False, its start), else a leading letter.

    Text comes before a leading letter because some texts begin like one: "B cells", "E. coli",
    "I and III". A lone valid letter comes first even where an option's text is a letter too
    (blood groups O, A, B, AB).
    `letter_needs_delimiter`: for a bare final text, "A 45-year-old…" is prose, while "A." or
    "A) Iron" is an answer.
    """
    cleaned = _clean(span)
    lone = _LONE_LETTER.fullmatch(cleaned)
    if lone and options.has(lone[1].upper()):
        return Extraction(lone[1].upper(), "answered", rule)
    by_text = _option_by_text(cleaned, options, whole=exact_text)
    if by_text:
        return Extraction(by_text, "answered", rule, "matched the option's text")

    lettered = _OPTION_WORD.sub("", cleaned, count=1)
    match = _LEADING_LETTER.match(lettered)
    if match:
        raw = match.group(1)
        # A lowercase letter followed by words is an article or a word ("a deficiency"), and so is
        # the pronoun "I"; neither is an answer. A closing bracket makes it a letter: "a) iron".
        is_word = match["words"] is not None and not match["bracket"] and (
            raw.islower() or letter_needs_delimiter or _PRONOUN_I.match(lettered, match.start(1)) is not None
        )
        if not is_word:
            return _judge_letter(raw.upper(), lettered[match.end(1) :], options, rule)

    if rule in ("answer_tag", "boxed"):  # "<answer>The answer is B</answer>"
        inner = _last_answer_phrase(cleaned, options)
        if inner is not None:
            return Extraction(inner.letter, inner.status, rule, inner.detail)
    return Extraction(None, "unparseable", rule, f"could not read an option in {span.strip()[:60]!r}")


def _judge_letter(letter: str, after: str, options: _Options, rule: Rule) -> Extraction:
    """The verdict on a leading letter, given the text `after` it."""
    rest = after.lstrip(")]}'\"”’.:")
    second = _SECOND_LETTER.match(rest)
    if second and second.group(1) != letter and not _PRONOUN_I.match(rest, second.start(1)):
        return Extraction(None, "several_letters", rule, f"both {letter} and {second.group(1)}")
    if not options.has(letter):
        valid = f"{min(options.letters)}–{max(options.letters)}" if options.letters else "none"
        return Extraction(None, "invalid_letter", rule, f"{letter} is not an option ({valid})")
    return Extraction(letter, "answered", rule)


def _clean(span: str) -> str:
    """The span without markdown, LaTeX text wrappers or math delimiters."""
    cleaned = span.translate(_MARKDOWN)
    if "\\" in cleaned or "$" in cleaned:
        for _ in range(_LATEX_NESTING):  # innermost wrapper first: \boxed{\text{\textbf{C}}}
            cleaned, unwrapped = _LATEX_WRAPPER.subn(r"\1", cleaned)
            if not unwrapped:
                break
        cleaned = _MATH_DELIMITER.sub(" ", cleaned).replace("\\", " ")
    return cleaned.strip()


def _normalise_text(text: str) -> str:
    """Lowercase words, without punctuation: "Vitamin B12 (cobalamin)" -> "vitamin b12 cobalamin"."""
    lowered = text.lower()
    if lowered.replace(" ", "").isalnum():  # plain words, as most option texts are: no regex needed
        return " ".join(lowered.split())
    return " ".join(_WORD.findall(lowered))


def _option_by_text(span: str, options: _Options, *, whole: bool) -> str | None:
    """The letter whose option text is the whole span (or, with whole=False, begins it).

    When several options begin the span ("Vitamin B" and "Vitamin B12"), the longest wins; when two
    options have the same text, neither does.
    """
    said = _normalise_text(span)
    if not said:
        return None
    matches = []
    for letter, expected in options.texts.items():
        if expected and (said == expected or (not whole and _begins_with(said, expected, span))):
            matches.append((len(expected), letter))
    if not matches:
        return None
    matches.sort(reverse=True)
    if len(matches) > 1 and matches[0][0] == matches[1][0]:
        return None
    return matches[0][1]


def _begins_with(said: str, expected: str, span: str) -> bool:
    """Whether the option text `expected` begins `said` (the normalised `span`). Several words may
    be followed by more ("Vitamin B12 deficiency"); one word needs a delimiter after it ("no.", not
    "no longer"); one character starting a span is a letter ("A (blood group O)"), not a text."""
    if len(expected) == 1 or not (said + " ").startswith(expected + " "):
        return False
    return " " in expected or _ONE_WORD_ENDS.match(span) is not None
