"""Which Odoo variant is each product of a Cartona catalogue.

Plain Python, no ORM. Keys first (Cartona's ``internal_product_id`` equal to a
variant's internal reference or barcode), then names, compared after a
normalisation that makes Arabic and Latin spellings of one product meet:
"زيت  عبّاد الشمس 1,5 لتر" and "زيت عباد الشمس 1.5L" are one name. Two names that state different figures,
or a different word where the other has its own (another brand), are two
products: such a candidate is never proposed, however close. The unit and the
number of pieces break ties between names that score alike.

Fuzzy scores come from rapidfuzz; each Cartona name is compared only with
the variants that share two of its rarest words (the blocking key), so a
catalogue of thousands against thousands of variants takes seconds.
"""

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

# How a proposal was found.
METHOD_MAPPED = "mapped"  # the variant already has this Cartona ID or internal ID
METHOD_INTERNAL_ID = "internal_id"
METHOD_BARCODE = "barcode"
METHOD_NAME = "name"

# Below this name score no proposal is made.
NAME_CUTOFF = 60
# A name proposal never claims the certainty of a key; one of two names that
# says more words than the other ("زيت ذرة" / "زيت ذرة كريستال") is not sure.
NAME_MAX_CONFIDENCE = 95
NAME_SAYS_MORE_MAX_CONFIDENCE = 85
# Two candidates closer than this are a tie, broken by unit and pieces.
TIE_MARGIN = 3
# What an unresolved tie costs the proposal's confidence.
AMBIGUITY_PENALTY = 15
# Candidates per Cartona name, and the words of it used as blocking keys.
CANDIDATES = 5
BLOCKING_WORDS = 3

# Arabic letters written several ways, Arabic-Indic digits and separators.
_LETTERS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        # Teh marbuta and heh end the same words in everyday writing (علبة / علبه).
        "ة": "ه",
        "ـ": None,  # tatweel, a stretch of the line
        "٫": ".",
        "٬": ",",
        "،": ",",
        "×": " x ",
        **{chr(0x0660 + digit): str(digit) for digit in range(10)},
        **{chr(0x06F0 + digit): str(digit) for digit in range(10)},
    }
)
# Units written in names, in the unit their size is compared in (factor).
_UNITS = {
    "g": ("g", 1),
    "gm": ("g", 1),
    "gr": ("g", 1),
    "grm": ("g", 1),
    "gram": ("g", 1),
    "grams": ("g", 1),
    "جم": ("g", 1),
    "جرام": ("g", 1),
    "غرام": ("g", 1),
    "غ": ("g", 1),
    "غم": ("g", 1),
    "gms": ("g", 1),
    "grs": ("g", 1),
    "kg": ("g", 1000),
    "kgs": ("g", 1000),
    "kilo": ("g", 1000),
    "kilogram": ("g", 1000),
    "كجم": ("g", 1000),
    "كغ": ("g", 1000),
    "كيلو": ("g", 1000),
    "كيلوجرام": ("g", 1000),
    "كيلو جرام": ("g", 1000),
    "كيلوغرام": ("g", 1000),
    "كيلو غرام": ("g", 1000),
    "كجرام": ("g", 1000),
    "كغم": ("g", 1000),
    "ك": ("g", 1000),
    "ml": ("ml", 1),
    "مل": ("ml", 1),
    "ملل": ("ml", 1),
    "مللي": ("ml", 1),
    "ملي": ("ml", 1),
    "مليلتر": ("ml", 1),
    "ملليلتر": ("ml", 1),
    "l": ("ml", 1000),
    "lt": ("ml", 1000),
    "ltr": ("ml", 1000),
    "ltrs": ("ml", 1000),
    "liters": ("ml", 1000),
    "litres": ("ml", 1000),
    "ليتر": ("ml", 1000),
    "لترات": ("ml", 1000),
    "liter": ("ml", 1000),
    "litre": ("ml", 1000),
    "لتر": ("ml", 1000),
    "ل": ("ml", 1000),
}
_SIZE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")(?!\w)"
)
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
_NOT_WORD = re.compile(r"[^\w.]+|(?<!\d)\.|\.(?!\d)")
# Pieces, however they are written: "x12", "12x", "12 pcs", "12 قطعة" say "12".
_PIECES = re.compile(
    r"(?<![\w.])x\s*(?=\d)|(?<=\d)\s*x(?![\w.])|(?<=\d)\s*(?:pcs|pc|pieces|piece|قطعه|قطع|حبه|حبات)(?!\w)"
)
# Cartona's units, and the words that name them in product names.
UNIT_WORDS = {
    "box": {"box", "carton", "كرتونه", "كرتون", "علبه", "صندوق"},
    "kg": {"kg", "كيلو", "كجم"},
    "piece": {"piece", "pcs", "pc", "قطعه"},
    "dozen": {"dozen", "دسته"},
    "bag": {"bag", "كيس", "شيكاره"},
    "packet": {"packet", "pack", "باكو", "عبوه"},
    "bottle": {"bottle", "زجاجه", "ازازه"},
    "can": {"can", "علبه"},
    "jar": {"jar", "برطمان"},
    "shrink": {"shrink", "شرنك"},
}
# Long vowels and the letters that double or drop between two spellings of one
# word ("اسباجتي" / "سباجيتي", "Nour" / "Noor"): a word's skeleton is without them.
_SKELETON = str.maketrans("", "", "اويaeiou")
_ARTICLE = "ال"


def number_text(value):
    """A number as names write it: ``12`` for 12.0, ``1.5``."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _size(match):
    unit, factor = _UNITS[match.group(2)]
    return f" {number_text(float(match.group(1)) * factor)}{unit} "


def normalise(text):
    """``text`` in the one form names are compared in: case folded, accents
    and tashkeel gone, alef/yeh/teh marbuta forms and digits unified, tatweel
    and punctuation dropped, sizes written "1500g" / "330ml", pieces as the bare
    number ("x12" → "12"), single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    # Decomposed, hamza and madda become marks on a bare alef, waw or yeh.
    text = unicodedata.normalize("NFD", text.translate(_LETTERS))
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = unicodedata.normalize("NFC", text)
    text = _DECIMAL_COMMA.sub(".", text)
    text = _NOT_WORD.sub(" ", text)
    text = _SIZE.sub(_size, text)
    text = _PIECES.sub(" ", text)
    return " ".join(text.split())


def figures(normalised):
    """The numbers a normalised name states, sizes included ({"3", "1500g"})."""
    return {word for word in normalised.split() if word[0].isdigit()}


_UNIT_WORDS = {unit: {normalise(word) for word in words} for unit, words in UNIT_WORDS.items()}
# Words that say how a product is packed, not which product it is.
PACKAGING = set().union(*_UNIT_WORDS.values()) | {normalise(word) for word in ("عبوة", "علب", "كراتين", "pieces")}


def _skeleton(word, article=True):
    if article and word.startswith(_ARTICLE) and len(word) > len(_ARTICLE) + 2:
        word = word[len(_ARTICLE) :]
    word = word.translate(_SKELETON)
    return "".join(char for at, char in enumerate(word) if not at or char != word[at - 1])


def shape(normalised):
    """What ``words_beyond`` compares of a normalised name: the figures it
    states, and its words that name the product (no figure, no packaging)."""
    words = normalised.split()
    return figures(normalised), [w for w in words if not w[0].isdigit() and w not in PACKAGING]


def words_beyond(name, other):
    """How many words one of two names (``shape``s) says beyond the other;
    None when they are two products: they state different figures (unless one
    only states more of them), or a word of one stands where the other has a
    different word (another brand, another taste). Two spellings of one word
    (skeletons alike, or one word written in two) are one word."""
    (stated, words), (wanted, other_words) = name, other
    if not (stated <= wanted or wanted <= stated):
        return None
    own = [w for w in words if w not in other_words]
    theirs = [w for w in other_words if w not in words]
    skeletons = [_skeleton(w) for w in theirs]
    for word in list(own):
        skeleton = _skeleton(word)
        if skeleton in skeletons:
            at = skeletons.index(skeleton)
            del theirs[at], skeletons[at]
            own.remove(word)
    if own and theirs and _skeleton("".join(own), article=False) != _skeleton("".join(theirs), article=False):
        return None
    return 0 if own and theirs else len(own) + len(theirs)


@dataclass(frozen=True)
class Variant:
    """What matching needs of an Odoo variant."""

    id: int
    name: str
    default_code: str | None = None
    barcode: str | None = None
    cartona_id: str | None = None
    cartona_internal_id: str | None = None
    # Pieces in the unit the variant is sold by on Cartona, and that unit's name.
    unit_count: float = 1
    unit_name: str | None = None


@dataclass(frozen=True)
class Proposal:
    supplier_product_id: str
    variant_id: int | None
    method: str | None
    confidence: int


MAX_UNIT_BONUS = 4


def _unit_bonus(item, variant, words):
    """How well ``variant`` (whose name and unit say ``words``) fits the
    item's unit and pieces: a tie-breaker."""
    bonus = 0
    count = item.unit_count or 1
    if abs((variant.unit_count or 1) - count) < 1e-6:
        bonus += 2
    if item.unit and words & _UNIT_WORDS.get(item.unit, {normalise(item.unit)}):
        bonus += 1
    if count > 1 and number_text(count) in words:
        bonus += 1
    return bonus


def match(items, variants):
    """One ``Proposal`` per catalogue item (``payloads.CatalogueItem``), in
    order; ``variant_id`` None when nothing fits. A variant is proposed for
    one Cartona product at most."""
    proposals = {}
    taken = set()
    by_cartona_id = {v.cartona_id: v for v in variants if v.cartona_id}
    by_code = defaultdict(list)
    by_barcode = defaultdict(list)
    for variant in variants:
        if variant.default_code:
            by_code[variant.default_code.strip()].append(variant)
        if variant.barcode:
            by_barcode[variant.barcode.strip()].append(variant)

    def propose(item, variant, method, confidence):
        proposals[item.supplier_product_id] = Proposal(item.supplier_product_id, variant.id, method, confidence)
        taken.add(variant.id)

    # Keys: exact, in order of trust. A key shared by several variants proves nothing.
    by_internal_id = {v.cartona_internal_id: v for v in variants if v.cartona_internal_id}
    for item in items:
        if item.supplier_product_id in by_cartona_id:
            propose(item, by_cartona_id[item.supplier_product_id], METHOD_MAPPED, 100)
    for item in items:
        known = by_internal_id.get(item.internal_product_id)
        if item.supplier_product_id not in proposals and known and known.id not in taken:
            propose(item, known, METHOD_MAPPED, 100)
    for index, method, confidence in ((by_code, METHOD_INTERNAL_ID, 100), (by_barcode, METHOD_BARCODE, 95)):
        for item in items:
            if item.supplier_product_id in proposals or not item.internal_product_id:
                continue
            found = [v for v in index.get(item.internal_product_id.strip(), []) if v.id not in taken]
            if len(found) == 1:
                propose(item, found[0], method, confidence)

    _match_names([item for item in items if item.supplier_product_id not in proposals], variants, taken, propose)
    return [
        proposals.get(item.supplier_product_id) or Proposal(item.supplier_product_id, None, None, 0) for item in items
    ]


def _block(words, postings):
    """The variants to score for a name of ``words``: those sharing two of its
    rarest words, else its rarest one (set operations, no Python loop)."""
    rare = sorted((w for w in words if w in postings), key=lambda w: len(postings[w]))[:BLOCKING_WORDS]
    if not rare:
        return []
    pairs = [postings[a] & postings[b] for i, a in enumerate(rare) for b in rare[i + 1 :]]
    block = set().union(*pairs) if pairs else set()
    return sorted(block or postings[rare[0]])


def _match_names(items, variants, taken, propose):
    free = [v for v in variants if v.id not in taken]
    names = [normalise(v.name).split() for v in free]
    shapes = [shape(" ".join(name)) for name in names]
    # Scored without packaging words: "-- كرتونة" does not make a name less sure.
    compared = [" ".join(w for w in name if w not in PACKAGING) for name in names]
    units = {name: set(normalise(name).split()) for name in {v.unit_name for v in free if v.unit_name}}
    words = [set(name) | units.get(v.unit_name, set()) for name, v in zip(names, free, strict=True)]
    postings = defaultdict(set)
    for position, name in enumerate(names):
        for word in set(name) - PACKAGING:
            postings[word].add(position)
    candidates = []  # (score with tie-breaker, whole-name score, rank, item index, variant position, confidence)
    for index, item in enumerate(items):
        query = normalise(item.name).split()
        query_shape = shape(" ".join(query))
        block = _block(set(query) - PACKAGING, postings)
        if not block:
            continue
        found = process.extract(
            " ".join(w for w in query if w not in PACKAGING),
            [compared[p] for p in block],
            scorer=fuzz.token_sort_ratio,
            processor=None,
            limit=None,
            score_cutoff=NAME_CUTOFF,
        )
        # Another size or another brand is another product, not a weaker proposal.
        # Between names alike but for packaging, the closer whole name wins.
        scored = []
        for _name, score, at in found:  # best first
            if len(scored) >= CANDIDATES and score + MAX_UNIT_BONUS <= sorted(scored)[-CANDIDATES][0] - TIE_MARGIN:
                break  # none further can be among the best, or tie with them
            position = block[at]
            beyond = words_beyond(query_shape, shapes[position])
            if beyond is not None:
                bonus = _unit_bonus(item, free[position], words[position])
                whole = fuzz.token_sort_ratio(query, names[position], processor=" ".join)
                ceiling = NAME_SAYS_MORE_MAX_CONFIDENCE if beyond else NAME_MAX_CONFIDENCE
                scored.append((score + bonus, whole, min(ceiling, round(score)), position))
        scored.sort(reverse=True)
        for rank, (total, whole, capped, position) in enumerate(scored[:CANDIDATES]):
            # A tie the unit and pieces do not break leaves the choice uncertain.
            tied = any(other > total - TIE_MARGIN for other, _w, _c, p in scored if p != position)
            confidence = capped - (AMBIGUITY_PENALTY if tied else 0)
            candidates.append((total, whole, -rank, index, position, confidence))
    # Best pairs first: a variant goes to the Cartona product it fits best.
    done = set()
    for *_order, index, position, confidence in sorted(candidates, reverse=True):
        variant = free[position]
        if index in done or variant.id in taken:
            continue
        done.add(index)
        propose(items[index], variant, METHOD_NAME, max(confidence, 1))
