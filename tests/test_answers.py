"""The answer extractor: every rule, every trap, and properties that must hold for any text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medr1_cli.answers import LETTERS, extract_answer, normalise_options

FOUR = {"A": "Iron", "B": "Vitamin B12", "C": "Folate", "D": "Vitamin C"}
TEN = {letter: f"finding number {i}" for i, letter in enumerate("ABCDEFGHIJ")}
ADVERSARIAL = [  # the same three benchmarks/extraction.py times
    "The answer is xyz. " * 2700,  # ~50 KB of answer phrases that say nothing
    "\\boxed{" * 7000,  # boxes that never close
    "<answer>" + "\\text{" * 5000 + "C" + "}" * 5000 + "</answer>",
]
PUBMEDQA = {"A": "yes", "B": "no", "C": "maybe"}
NEAR_TEXTS = {"A": "Vitamin B", "B": "Vitamin B12", "C": "Vitamin D", "D": "Zinc"}
# option texts that begin like a letter
CELLS = {"A": "T cells", "B": "NK cells", "C": "B cells", "D": "Macrophages"}
BACTERIA = {"A": "S. aureus", "B": "E. coli", "C": "K. pneumoniae", "D": "P. aeruginosa", "E": "H. influenzae"}
PEPTIDE = {"A": "Insulin levels", "B": "Glucose levels", "C": "HbA1c", "D": "C-peptide levels"}
GENETICS = {"A": "Trinucleotide repeat", "B": "Translocation", "C": "A mutation in the CFTR gene", "D": "Deletion"}
ROMAN = {"A": "I and II", "B": "I and III", "C": "II and III", "D": "I, II and III"}
BLOOD_GROUPS = {"A": "O", "B": "A", "C": "B", "D": "AB"}
LOWERCASE_KEYS = {"a": "Iron", "b": "Vitamin B12", "c": "Folate", "d": "Vitamin C"}

# (completion, options, letter, status, rule)
CASES = [
    # rule 2: the answer tag
    ("<think>\nlow MCV means iron\n</think>\n<answer>A</answer>", FOUR, "A", "answered", "answer_tag"),
    ("<think>x</think><answer> C </answer>", FOUR, "C", "answered", "answer_tag"),
    ("<think>x</think><answer>(B)</answer>", FOUR, "B", "answered", "answer_tag"),
    ("<think>x</think><answer>**D**</answer>", FOUR, "D", "answered", "answer_tag"),
    ("<think>x</think><answer>B. Vitamin B12</answer>", FOUR, "B", "answered", "answer_tag"),
    ("<think>x</think><answer>Folate</answer>", FOUR, "C", "answered", "answer_tag"),
    ("<think>x</think><answer>The answer is D</answer>", FOUR, "D", "answered", "answer_tag"),
    ("<think>x</think><answer>b</answer>", FOUR, "B", "answered", "answer_tag"),
    # several answer tags: the last one decides
    ("<think>x</think><answer>A</answer> wait <answer>C</answer>", FOUR, "C", "answered", "answer_tag"),
    # letters inside the reasoning do not count, whatever they say
    ("<think>The answer is B, surely. Answer: B</think>\n<answer>D</answer>", FOUR, "D", "answered", "answer_tag"),
    ("<think>\\boxed{A}</think>The final answer is C.", FOUR, "C", "answered", "answer_phrase"),
    # pre-filled <think>: the template wrote the opening tag, the completion only closes it
    ("iron deficiency fits\n</think>\n<answer>A</answer>", FOUR, "A", "answered", "answer_tag"),
    # rule 1: reasoning that never ended
    ("<think>\nlet me think about B and C and", FOUR, None, "unclosed_think", None),
    # rule 3: boxed
    ("The result: \\boxed{C}", FOUR, "C", "answered", "boxed"),
    ("So \\boxed{\\text{B}}", FOUR, "B", "answered", "boxed"),
    ("So \\boxed{B. Vitamin B12}", FOUR, "B", "answered", "boxed"),
    ("\\boxed{A} no, actually \\boxed{D}", FOUR, "D", "answered", "boxed"),
    ("\\boxed{\\textbf{Folate}}", FOUR, "C", "answered", "boxed"),
    # rule 4: answer phrases with markdown and punctuation
    ("Reasoning... The answer is **B**.", FOUR, "B", "answered", "answer_phrase"),
    ("Therefore the answer is (C) Folate.", FOUR, "C", "answered", "answer_phrase"),
    ("Answer: D", FOUR, "D", "answered", "answer_phrase"),
    ("**Answer:** B) Vitamin B12", FOUR, "B", "answered", "answer_phrase"),
    ("The correct answer is option A.", FOUR, "A", "answered", "answer_phrase"),
    ("Final answer: c", FOUR, "C", "answered", "answer_phrase"),
    ("The answer is Vitamin C.", FOUR, "D", "answered", "answer_phrase"),
    ("The answer is A because the MCV is low.", FOUR, "A", "answered", "answer_phrase"),
    ("ANSWER: [B]", FOUR, "B", "answered", "answer_phrase"),
    ("First I thought the answer is A. After checking, the answer is C.", FOUR, "C", "answered", "answer_phrase"),
    # a later "answer" that is not an answer does not hide an earlier one
    ("The answer is B.\nTo answer this fully, more tests are needed.", FOUR, "B", "answered", "answer_phrase"),
    # "a" as an article and "I" as a pronoun are not letters
    ("The answer is a deficiency of iron", FOUR, None, "unparseable", None),
    ("Answer: I think it is B", TEN, None, "unparseable", None),  # with ten options, I is valid: still no
    # rule 5: a bare answer
    ("B", FOUR, "B", "answered", "bare_answer"),
    ("  **C**  ", FOUR, "C", "answered", "bare_answer"),
    ("D. Vitamin C", FOUR, "D", "answered", "bare_answer"),
    ("Folate", FOUR, "C", "answered", "bare_answer"),
    ("A 25-year-old with anemia needs more tests.", FOUR, None, "unparseable", None),
    # rule 6: nothing to read
    ("", FOUR, None, "unparseable", None),
    ("I am not sure which one it could be.", FOUR, None, "unparseable", None),
    ("<think>done</think>", FOUR, None, "unparseable", None),
    ("<think>x</think><answer>the second one</answer>", FOUR, None, "unparseable", "answer_tag"),
    # only letters valid for this question
    ("<think>x</think><answer>F</answer>", FOUR, None, "invalid_letter", "answer_tag"),
    ("The answer is E.", FOUR, None, "invalid_letter", "answer_phrase"),
    ("<think>x</think><answer>H</answer>", TEN, "H", "answered", "answer_tag"),
    ("The answer is (J).", TEN, "J", "answered", "answer_phrase"),
    ("<answer>finding number 7</answer>", TEN, "H", "answered", "answer_tag"),
    # several different letters are wrong; the same letter twice is still that letter
    ("<think>x</think><answer>B and C</answer>", FOUR, None, "several_letters", "answer_tag"),
    ("The answer is B, C.", FOUR, None, "several_letters", "answer_phrase"),
    ("<answer>A or (D)</answer>", FOUR, None, "several_letters", "answer_tag"),
    ("<answer>B, B</answer>", FOUR, "B", "answered", "answer_tag"),
    # PubMedQA: yes / no / maybe are the options' texts
    ("<think>x</think><answer>yes</answer>", PUBMEDQA, "A", "answered", "answer_tag"),
    ("The answer is maybe.", PUBMEDQA, "C", "answered", "answer_phrase"),
    ("No.", PUBMEDQA, "B", "answered", "bare_answer"),
    # option texts that begin alike: the whole text decides, the longest prefix wins
    ("<answer>Vitamin B12</answer>", NEAR_TEXTS, "B", "answered", "answer_tag"),
    ("The answer is Vitamin B12 deficiency.", NEAR_TEXTS, "B", "answered", "answer_phrase"),
    # a later "answer" with no verb or colon only counts for a letter standing alone, on its line
    ("The correct answer is B.\n\nAnswer A is incorrect: the MCV is low.", FOUR, "B", "answered", "answer_phrase"),
    ("The answer is B.\n\nAnswer choice C is incorrect: folate is fine.", FOUR, "B", "answered", "answer_phrase"),
    ("**Answer: B**\n\nLet's review each answer option:\nA) Iron - wrong", FOUR, "B", "answered", "answer_phrase"),
    ("Note that answer B (vitamin B12) is a distractor", FOUR, None, "unparseable", None),
    ("So we pick answer B.", FOUR, "B", "answered", "answer_phrase"),
    ("**Final answer:**\n\n**C. Folate**", FOUR, "C", "answered", "answer_phrase"),  # a heading
    # option text before a leading letter: texts that begin like a letter
    ("The answer is B cells.", CELLS, "C", "answered", "answer_phrase"),
    ("<answer>B cells</answer>", CELLS, "C", "answered", "answer_tag"),
    ("<answer>T cells</answer>", CELLS, "A", "answered", "answer_tag"),
    ("The answer is E. coli.", BACTERIA, "B", "answered", "answer_phrase"),
    ("Answer: C-peptide levels", PEPTIDE, "D", "answered", "answer_phrase"),
    ("<answer>A mutation in the CFTR gene</answer>", GENETICS, "C", "answered", "answer_tag"),
    ("The answer is I and III.", ROMAN, "B", "answered", "answer_phrase"),
    ("<answer>I, II and III</answer>", ROMAN, "D", "answered", "answer_tag"),
    ("<answer>B</answer>", BLOOD_GROUPS, "B", "answered", "answer_tag"),  # a lone letter stays a letter
    ("<answer>AB</answer>", BLOOD_GROUPS, "D", "answered", "answer_tag"),
    ("<answer>O</answer>", BLOOD_GROUPS, "A", "answered", "answer_tag"),  # not a letter here: a text
    ("The answer is A (blood group O).", BLOOD_GROUPS, "A", "answered", "answer_phrase"),
    # a one-word option text read from the start of a phrase needs a delimiter after it
    ("The answer is no longer in doubt: yes.", PUBMEDQA, None, "unparseable", None),
    ("The answer is no, because the trial was underpowered.", PUBMEDQA, "B", "answered", "answer_phrase"),
    ("The answer is yes because the trial was positive.", PUBMEDQA, "A", "answered", "answer_phrase"),
    # "I" before a lowercase word is the pronoun, as a first or a second letter
    ("The answer is B, I believe.", FOUR, "B", "answered", "answer_phrase"),
    ("The answer is B and I am fairly confident.", FOUR, "B", "answered", "answer_phrase"),
    ("Answer: I go with C", TEN, None, "unparseable", None),
    ("Answer: I select C", TEN, None, "unparseable", None),
    ("The answer is I because the others are excluded.", TEN, "I", "answered", "answer_phrase"),
    ("<answer>B and I</answer>", TEN, None, "several_letters", "answer_tag"),
    # "Option B" / "Choice B" as the whole answer
    ("<answer>Option B</answer>", FOUR, "B", "answered", "answer_tag"),
    ("\\boxed{\\text{Option C}}", FOUR, "C", "answered", "boxed"),
    ("<answer>Option C: Folate</answer>", FOUR, "C", "answered", "answer_tag"),
    ("Option B", FOUR, "B", "answered", "bare_answer"),
    # more ways to say it, all anchored on "answer" or "correct / best / right option"
    ("The correct option is C.", FOUR, "C", "answered", "answer_phrase"),
    ("Overall, the best option is **C. Folate**.", FOUR, "C", "answered", "answer_phrase"),
    ("Correct option: C", FOUR, "C", "answered", "answer_phrase"),
    ("<answer>The correct option is C.</answer>", FOUR, "C", "answered", "answer_tag"),
    ("The answer to this question is yes.", PUBMEDQA, "A", "answered", "answer_phrase"),
    ("The answer to the question is C.", FOUR, "C", "answered", "answer_phrase"),
    ("The correct answer choice is C.", FOUR, "C", "answered", "answer_phrase"),
    ("The answer, therefore, is C.", FOUR, "C", "answered", "answer_phrase"),
    ("The answer is, therefore, C.", FOUR, "C", "answered", "answer_phrase"),
    ("So the answer, I believe, is C.", FOUR, "C", "answered", "answer_phrase"),
    ("The answer must be C.", FOUR, "C", "answered", "answer_phrase"),
    ("The answer seems to be C.", FOUR, "C", "answered", "answer_phrase"),
    ("The answer here is C.", FOUR, "C", "answered", "answer_phrase"),
    ("The answer is indeed C.", FOUR, "C", "answered", "answer_phrase"),
    ("The answer is actually C.", FOUR, "C", "answered", "answer_phrase"),
    # quotes and inline math around the letter
    ("The answer is 'B'.", FOUR, "B", "answered", "answer_phrase"),
    ('The answer is "B".', FOUR, "B", "answered", "answer_phrase"),
    ("The answer is “B”.", FOUR, "B", "answered", "answer_phrase"),
    ("The final answer is $B$.", FOUR, "B", "answered", "answer_phrase"),
    ("The answer is $\\text{B}$.", FOUR, "B", "answered", "answer_phrase"),
    ("\\( \\text{C} \\)", FOUR, "C", "answered", "bare_answer"),
    # ; ! ? and a line break end a letter
    ("The answer is C; the others are wrong.", FOUR, "C", "answered", "answer_phrase"),
    ("The answer is C!", FOUR, "C", "answered", "answer_phrase"),
    ("B\n\nVitamin B12 deficiency causes a macrocytic anemia.", FOUR, "B", "answered", "bare_answer"),
    ("B) Vitamin B12", FOUR, "B", "answered", "bare_answer"),  # a closing bracket ends it too
    ("(C) Folate", FOUR, "C", "answered", "bare_answer"),
    # LaTeX wrappers, nested; an unclosed last box does not hide a complete one
    ("\\boxed{\\text{\\textbf{C}}}", FOUR, "C", "answered", "boxed"),
    ("\\boxed{\\mathbf{\\text{C}}}", FOUR, "C", "answered", "boxed"),
    ("\\boxed{\\textnormal{C}}", FOUR, "C", "answered", "boxed"),
    ("\\boxed{C}\n\n(I initially wrote \\boxed{", FOUR, "C", "answered", "boxed"),
    # tags in any letter case; text that lowercasing lengthens; options in any key case
    ("<Answer>C</Answer>", FOUR, "C", "answered", "answer_tag"),
    ("İ" * 30 + " the answer is C", FOUR, "C", "answered", "answer_phrase"),
    ("<answer>C</answer>", LOWERCASE_KEYS, "C", "answered", "answer_tag"),
    ("<answer>Folate</answer>", LOWERCASE_KEYS, "C", "answered", "answer_tag"),
]


@pytest.mark.parametrize(("completion", "options", "letter", "status", "rule"), CASES)
def test_extraction_table(completion, options, letter, status, rule):
    result = extract_answer(completion, options)
    assert (result.letter, result.status) == (letter, status), result
    if rule is not None:
        assert result.rule == rule


def test_require_think_marks_a_completion_without_the_closing_tag_truncated():
    assert extract_answer("<answer>A</answer>", FOUR).letter == "A"
    result = extract_answer("<answer>A</answer>", FOUR, require_think=True)
    assert result.unclosed_think and result.letter is None


def test_is_correct_and_flags():
    result = extract_answer("<think>x</think><answer>a</answer>", FOUR)
    assert result.is_correct("A") and result.is_correct(" a ") and not result.is_correct("B")
    assert not result.unclosed_think and not result.unparseable
    assert extract_answer("nothing", FOUR).unparseable


def test_options_as_a_list_get_letters_in_order():
    assert normalise_options(["yes", "no", "maybe"]) == PUBMEDQA
    assert extract_answer("<answer>maybe</answer>", ["yes", "no", "maybe"]).letter == "C"


def test_different_letters_in_reasoning_and_answer_score_the_answer():
    completion = "<think>A is tempting; B fits; the answer is B.</think><answer>C</answer>"
    assert extract_answer(completion, FOUR).is_correct("C")
    assert not extract_answer(completion, FOUR).is_correct("B")


@pytest.mark.timeout(20)  # a guard against runaway backtracking; their speed is measured in benchmarks/extraction.py
def test_adversarial_completions_are_read_without_inventing_an_answer():
    for completion in ADVERSARIAL[:2]:  # answer phrases that say nothing, boxes that never close
        assert extract_answer(completion, TEN).letter is None
    assert extract_answer(ADVERSARIAL[2], TEN).letter in (None, "C")  # 5,000 deep: no other letter is invented


option_sets = st.integers(min_value=2, max_value=10).map(lambda n: {LETTERS[i]: f"option {i}" for i in range(n)})
noise = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
answer_like = st.lists(
    st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "\\boxed{", "}", "answer is ", "Answer:",
                     "**", "(", ")", " ", "\n", "A", "B", "J", "K", "Z", "a", "i", "I think", "option 3", ". "]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(noise, answer_like), options=option_sets)
def test_never_raises_and_never_returns_a_letter_outside_the_options(text, options):
    result = extract_answer(text, options)
    assert result.letter is None or result.letter in options
    assert (result.letter is None) == (result.status != "answered")


@settings(max_examples=200, deadline=None)
@given(options=option_sets, data=st.data())
def test_a_clean_answer_tag_is_always_read(options, data):
    letter = data.draw(st.sampled_from(sorted(options)))
    reasoning = data.draw(st.text(alphabet="abcdefgh ABCDEFGH.\n", max_size=200))
    assert extract_answer(f"<think>{reasoning}</think>\n<answer>{letter}</answer>", options).letter == letter


# ------------------------------------------------------------------- answer styles of current models
CARDIAC = {"A": "Tetralogy of Fallot", "B": "Pulmonary atresia", "C": "Transposition of the great arteries",
           "D": "Ventricular septal defect"}
STYLES = [  # (style, completion, require_think, letter, status, rule, boundary) — replies written for these tests
    ("HuatuoGPT-o1, bold option text",
     "## Thinking\n\nCyanosis at birth with a single second heart sound. A ventricular septal defect alone would "
     "not do this, and Tetralogy of Fallot usually shows later.\n\n## Final Response\n\nThe most likely diagnosis "
     "is **B. Pulmonary atresia**, given the duct-dependent pulmonary flow.",
     True, "B", "answered", "bold_option", "final_heading"),
    ("HuatuoGPT-o1, answer phrase",
     "## Thinking\n\nOption A is tempting.\n\n## Final Response\n\nThe answer is C.", True, "C", "answered",
     "answer_phrase", "final_heading"),
    ("HuatuoGPT-o1, still thinking at the end",
     "## Thinking\n\nThe answer is not A. Perhaps B, though C", True, None, "unclosed_think", None, "none"),
    ("QwQ, <think> pre-filled by the template",
     "Okay, the infant is cyanotic. A is less likely.\n</think>\n\nThe answer is **D**.", False, "D", "answered",
     "answer_phrase", "think"),
    ("DeepSeek-R1 style", "<think>\nductal dependence\n</think>\n\n**Answer:** B. Pulmonary atresia", True, "B",
     "answered", "answer_phrase", "think"),
    ("markdown 'Final Answer' heading", "Reasoning about shunts.\n\n### Final Answer\nC", True, "C", "answered",
     "bare_answer", "final_heading"),
    ("bold text in prose without a final section", "Given the single S2, **Pulmonary atresia** fits best.", False,
     None, "unparseable", None, "none"),
    ("a final section that rejects its bold option",
     "## Thinking\nThe answer is B.\n\n## Final Response\n\n**Ventricular septal defect** is excluded.", False, None,
     "unparseable", None, "final_heading"),
    ("a final section weighing two options",
     "## Final Response\nBoth **Tetralogy of Fallot** and pulmonary atresia fit; I favour the latter.", False, None,
     "unparseable", None, "final_heading"),
    ("a heading inside an unclosed <think> is a draft",
     "<think>Draft:\n## Final Answer\nB\nWait, reconsider; maybe A since", True, None, "unclosed_think", None, "none"),
    ("'## Final Response: B' on one line", "## Thinking\nshunts\n## Final Response: B", True, "B", "answered",
     "bare_answer", "final_heading"),
    ("a bold 'Final Answer' line", "<think>x</think>\n**Final Answer**\n\nB", True, "B", "answered", "bare_answer",
     "think"),
    ("bold text naming two options",
     "**Tetralogy of Fallot** and **Pulmonary atresia** both cause cyanosis.", False, None, "unparseable", None,
     "none"),
    ("a bold lone letter is not an option's text", "Option **B** is tempting but the murmur argues otherwise.",
     False, None, "unparseable", None, "none"),
]


@pytest.mark.parametrize("style, completion, require_think, letter, status, rule, boundary", STYLES,
                         ids=[s[0] for s in STYLES])
def test_answer_styles_of_current_models(style, completion, require_think, letter, status, rule, boundary):
    result = extract_answer(completion, CARDIAC, require_think=require_think)
    assert (result.letter, result.status, result.rule, result.boundary) == (letter, status, rule, boundary), result


# ------------------------------------------- a yes/no/maybe verdict opening the final section, and a bold
# "Letter. text" in a one-paragraph reply (#24): both read at once by a person, so read here too — and every
# sentence that weighs, asks about or hedges stays unparseable.
YES_NO = {"A": "yes", "B": "no"}  # BioASQ-style: no "maybe" option
SARCOID = {"A": "Lymphoma", "B": "Tuberculosis", "C": "Sarcoidosis", "D": "Histoplasmosis"}
HUATUO_PUBMEDQA = ("## Thinking\n\nThe trial randomised 240 patients; mortality fell from 18 % to 11 % (p = 0.02).\n\n"
                   "## Final Response\n\n")
READ_NOW = [  # (id, completion, options, letter, rule, boundary) — each is unparseable on the code before #24
    ("HuatuoGPT-o1 on PubMedQA: 'Yes, …'", HUATUO_PUBMEDQA + "Yes, the intervention lowered mortality in this "
     "trial, although the confidence interval is wide.", PUBMEDQA, "A", "yes_no_opening", "final_heading"),
    ("'No.' then its reasons", HUATUO_PUBMEDQA + "No. The difference was not significant after adjustment.",
     PUBMEDQA, "B", "yes_no_opening", "final_heading"),
    ("'Maybe,' then its reasons", HUATUO_PUBMEDQA + "Maybe, since the benefit was confined to one subgroup.",
     PUBMEDQA, "C", "yes_no_opening", "final_heading"),
    ("a bold 'Yes' after </think>", "<think>x</think>\n\n**Yes**, statins lowered the rate of stroke.", PUBMEDQA,
     "A", "yes_no_opening", "think"),
    ("'no' as a determiner is no second verdict", "<think>x</think>\nNo, there was no significant difference in "
     "mortality.", PUBMEDQA, "B", "yes_no_opening", "think"),
    ("a yes/no question without 'maybe'", HUATUO_PUBMEDQA + "No — the effect disappeared in the validation cohort.",
     YES_NO, "B", "yes_no_opening", "final_heading"),
    ("a one-paragraph reply with one bold 'C. text'", "Given the findings, the most likely diagnosis is "
     "**C. Sarcoidosis** because of the bilateral hilar nodes and the raised ACE.", SARCOID, "C", "bold_option",
     "none"),
    ("'(C) text' in bold", "Bilateral hilar lymphadenopathy with erythema nodosum points to **(C) Sarcoidosis**.",
     SARCOID, "C", "bold_option", "none"),
    ("a rejected bold option beside the chosen one", "The most likely diagnosis is **C. Sarcoidosis**; "
     "**A. Lymphoma** is ruled out by the biopsy.", SARCOID, "C", "bold_option", "none"),
    ("a condition closed before the bold 'C. text'", "If the ACE is raised as well, the most likely diagnosis is "
     "**C. Sarcoidosis**.", SARCOID, "C", "bold_option", "none"),
    ("a bold finding beside the bold 'C. text'", "The **raised ACE** and hilar nodes make **C. Sarcoidosis** the "
     "most likely diagnosis.", SARCOID, "C", "bold_option", "none"),
]


@pytest.mark.parametrize("completion, options, letter, rule, boundary", [c[1:] for c in READ_NOW],
                         ids=[c[0] for c in READ_NOW])
def test_a_yes_no_opening_and_a_bold_lettered_option_are_read(completion, options, letter, rule, boundary):
    result = extract_answer(completion, options)
    assert (result.letter, result.status, result.rule, result.boundary) == (letter, "answered", rule, boundary), result


REFUSED = [  # (id, completion, options) — each must stay unparseable
    ("'Yes and no'", HUATUO_PUBMEDQA + "Yes and no; it depends on the subgroup.", PUBMEDQA),
    ("'Yes, but maybe …' hedges", HUATUO_PUBMEDQA + "Yes, but maybe only in patients over 70.", PUBMEDQA),
    ("'No. Actually, yes' reverses", HUATUO_PUBMEDQA + "No. Actually, yes: the later trials show a benefit.", PUBMEDQA),
    ("'Yes, no, …' lists", HUATUO_PUBMEDQA + "Yes, no, or maybe: one trial cannot settle it.", PUBMEDQA),
    ("'Yes/no …'", HUATUO_PUBMEDQA + "Yes/no questions like this cannot be settled by one trial.", PUBMEDQA),
    ("'Yes, it depends'", HUATUO_PUBMEDQA + "Yes, it depends on the dose.", PUBMEDQA),
    ("a hedge after 'e.g.'", HUATUO_PUBMEDQA + "Yes, e.g. in older patients, maybe not in younger ones.", PUBMEDQA),
    ("'Yes?' asks", HUATUO_PUBMEDQA + "Yes? The data are too thin to say.", PUBMEDQA),
    ("an opening that asks", HUATUO_PUBMEDQA + "No, but is the effect clinically meaningful?", PUBMEDQA),
    ("'No doubt …' is no verdict", HUATUO_PUBMEDQA + "No doubt the trial was small, so the effect is uncertain.",
     PUBMEDQA),
    ("'yes' not at the opening", HUATUO_PUBMEDQA + "The authors argue that yes, it helps, but the data disagree.",
     PUBMEDQA),
    ("a plain reply without a final section", "Yes, the intervention lowered mortality.", PUBMEDQA),
    ("an opening 'maybe' that is not an option", HUATUO_PUBMEDQA + "Maybe, if the cohort were larger.", YES_NO),
    ("a 'Yes' for a question that is not yes/no", HUATUO_PUBMEDQA + "Yes, the nodes fit sarcoidosis.", SARCOID),
    ("a bold option asked about", "Is it **C. Sarcoidosis**? No, the calcium is normal.", SARCOID),
    ("a bold option rejected", "The picture is not **C. Sarcoidosis**, given the caseating granulomas.", SARCOID),
    ("two bold options", "It is **C. Sarcoidosis** or **A. Lymphoma**; only a biopsy decides.", SARCOID),
    ("a bold option or another", "The most likely diagnosis is **C. Sarcoidosis** or lymphoma.", SARCOID),
    ("a bold option under a condition", "If it were **C. Sarcoidosis**, the ACE would be raised.", SARCOID),
    ("bold options weighed against each other", "The nodes fit **C. Sarcoidosis** versus **A. Lymphoma** equally.",
     SARCOID),
    ("a bold letter beside another bold option", "Option **B** is tempting, but **C. Sarcoidosis** fits the nodes.",
     SARCOID),
    ("a bold lone letter after a heading", "## Final Response\n\nOption **B** is tempting, but the nodes argue "
     "otherwise.", SARCOID),
    ("several paragraphs without a final section", "Let us weigh the options.\n\nThe most likely diagnosis is "
     "**C. Sarcoidosis**.", SARCOID),
    ("bold text without its letter", "Given the nodes, **Sarcoidosis** is the most likely diagnosis.", SARCOID),
    ("a bold letter and a mismatched text", "The most likely diagnosis is **B. Sarcoidosis**.", SARCOID),
]


@pytest.mark.parametrize("completion, options", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_weighing_asking_or_hedging_stays_unparseable(completion, options):
    result = extract_answer(completion, options)
    assert (result.letter, result.status) == (None, "unparseable"), result


ASKED_AFTER_A_HEADING = [  # read as C before #24: a question or an alternative is not a choice, after a heading too
    "## Final Response\n\nIs it **C. Sarcoidosis**? No, the calcium is normal.",
    "## Final Response\n\nIs it **Sarcoidosis** (given the nodes)? Unlikely.",
    "## Final Response\n\nThe most likely diagnosis is **C. Sarcoidosis** or lymphoma.",
    "## Final Response\n\nOption **B** is tempting, but **C. Sarcoidosis** fits the nodes.",
]


@pytest.mark.parametrize("completion", ASKED_AFTER_A_HEADING)
def test_a_bold_option_asked_about_or_beside_another_is_no_choice_after_a_heading(completion):
    result = extract_answer(completion, SARCOID)
    assert (result.letter, result.status) == (None, "unparseable"), result


@pytest.mark.timeout(20)  # each span's sentence was searched over the whole paragraph: 29 s for the first, before #24
def test_many_bold_spans_are_read_in_linear_time():
    for completion in ("## Final Response\n\n" + "**x** and " * 6000, "The sign **A. finding number 0** fits " * 1500):
        assert extract_answer(completion, TEN).letter is None
