"""A deterministic synthetic arXiv announcement feed, RSS 2.0 or Atom 1.0.

``synth_feed(entries=2000, fmt="rss", seed=0)`` returns the bytes of one day's
announcement for cs.CV in the format rss.arxiv.org has served since February
2024 (see tests/ingest/feeds/arxiv-rss-announce.xml and arxiv-atom-announce.xml):
``oai:arXiv.org:`` guids with versions, a description that starts
``arXiv:2402.12345v2 Announce Type: new`` then ``Abstract:``, one
``dc:creator`` string for all authors, one category element per category,
``arxiv:announce_type``, ``dc:rights``, and for some entries ``arxiv:DOI``
(sometimes two, space-separated) and ``arxiv:journal_reference``.

The mix is a busy cs.CV day's: ~55% new, ~15% cross-lists, ~22%
replacements, ~8% cross-listed replacements. Abstracts run ~1,200
characters on one line (~10% wrapped at 80 columns, as submitted) with TeX
(``$\\ell_1$``, ``$a<b$``, escaped as XML needs); ~30% name a GitHub
repository and some a project page. Titles and author lists carry the odd
``&``, accented name (some in TeX: ``M\\'elodie``), suffix or affiliation.
The same seed always gives the same bytes.

Command line (from the repository root)::

    .venv/bin/python -m bench.synth_feed --entries 2000 --format rss --output bench/out/cs.CV.rss

No I/O but the output file.
"""

from __future__ import annotations

import argparse
import random
import sys
import textwrap
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["ANNOUNCE_MIX", "synth_feed"]

ANNOUNCE_MIX: tuple[tuple[str, float], ...] = (
    ("new", 0.55),
    ("cross", 0.15),
    ("replace", 0.22),
    ("replace-cross", 0.08),
)
DAY = date(2024, 2, 12)  # a Monday

_CROSS_PRIMARY = ("cs.LG", "eess.IV", "cs.AI", "cs.RO", "cs.CL", "cs.GR", "stat.ML", "q-bio.QM")
_SECONDARY = ("cs.LG", "eess.IV", "cs.AI", "cs.MM", "cs.RO", "cs.GR", "cs.HC", "eess.SP")
_LICENSES = (
    "http://creativecommons.org/licenses/by/4.0/",
    "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
    "http://creativecommons.org/licenses/by-nc-sa/4.0/",
    "http://creativecommons.org/publicdomain/zero/1.0/",
)
_JOURNALS = (
    "IEEE Transactions on Medical Imaging",
    "Medical Image Analysis",
    "IEEE Transactions on Pattern Analysis and Machine Intelligence",
    "International Journal of Computer Vision",
    "Pattern Recognition",
    "Computer Vision and Image Understanding",
)
_DOI_PREFIXES = (
    "10.1109/TMI",
    "10.1016/j.media",
    "10.1109/TPAMI",
    "10.1007/s11263",
    "10.1016/j.patcog",
)
_FIRST = (
    "Wei", "Ana", "Omar", "Lena", "Priya", "John", "Sara", "Kenji", "Hana", "Luis", "Ivan",
    "Fatima", "Tom", "Nora", "Ravi", "Elif", "Carlos", "Yuki", "Lars", "Amina", "Jean-Pierre",
    "Xiaojun", "Mei", "Hyun-woo", "Giulia", "Mateo", "Ingrid", "Chen", "Aditya", "Olga",
    "Alexander", "Fernando", "Chandra", "Zoë", "Jürgen", "Inês", "Björn", "Siddharth",
)  # fmt: skip
# arXiv writes some names with TeX accents: ~3% of names here.
_TEX_FIRST = (r"M\'elodie", r"Zo\"e", r"Fran\c{c}ois", r"{\L}ukasz", r"J\"urgen", r"In\^es")
_TEX_LAST = (r"{\O}degaard", r"M\"uller", r"G\'{o}rski", r"Ch\^ateau")
_LAST = (
    "Zhang", "Lima", "Haddad", "Fischer", "Natarajan", "Smith", "Rossi", "Tanaka", "Kim",
    "Ortega", "Petrov", "Zahra", "Becker", "Lindqvist", "Shankar", "Demir", "Mendes",
    "Nakamura", "Eriksson", "Diallo", "Dupont", "Bi", "Wang", "Park", "Bianchi", "Garcia",
    "Johansson", "Li", "Gupta", "Ivanova", "Desbos", "Ødegaard", "Müller", "Górski",
    "van der Berg", "O'Neill", "Çelik", "Nguyễn", "Søndergaard", "Andersen",
)  # fmt: skip
_AFFILIATIONS = ("Fudan University, Shanghai, China", "INESC TEC", "MIT", "ETH Zurich")
_TITLE_HEADS = (
    "Promptable", "Self-Supervised", "Efficient", "Robust", "Scalable", "Diffusion-Based",
    "Open-Vocabulary", "Few-Shot", "Multimodal", "Sparse", "Hierarchical", "Uncertainty-Aware",
    "Training-Free", "Zero-Shot", "Federated", "Contrastive",
)  # fmt: skip
_TITLE_NOUNS = (
    "Segmentation", "Depth Estimation", "Object Detection", "Image Restoration",
    "Video Generation", "Point Cloud Registration", "Pose Estimation", "Scene Understanding",
    "Visual Grounding", "Image Retrieval", "3D Reconstruction", "Novel View Synthesis",
    "Anomaly Detection", "Tracking", "Super-Resolution", "Image Captioning",
)  # fmt: skip
_TITLE_DOMAINS = (
    "Breast MRI", "Chest Radiographs", "Autonomous Driving", "Remote Sensing", "Histopathology",
    "Retinal Images", "Egocentric Video", "Satellite Imagery", "Ultrasound", "Robot Manipulation",
    "Low-Light Scenes", "Medical Images", "Gaussian Splatting", "Vision Transformers",
)  # fmt: skip
_SENTENCES = (
    "We present {name}, a {head} approach to {task} that scales to {domain}.",
    "Existing methods for {task} rely on dense annotations and degrade under domain shift.",
    "Our key idea is to decouple appearance from geometry with a lightweight {module}.",
    "We introduce a {module} that aggregates multi-scale features with linear complexity.",
    "The loss combines a contrastive term with an $\\ell_1$ penalty weighted by $\\lambda<1$.",
    "A theoretical analysis shows that the error is bounded by $O(\\sqrt{{n}})$ when $k>d$.",
    "Extensive experiments on {n_bench} benchmarks show gains of {gain} points in mIoU over "
    "the previous state of the art.",
    "On {domain}, {name} reduces the error by {gain}% while running at {fps} frames per second.",
    "Ablations confirm that each component contributes & that the {module} matters most.",
    "We further release a dataset of {count} annotated images covering {n_bench} domains.",
    "Unlike prior work, our method needs neither retraining nor test-time optimisation.",
    "The model is pretrained on {count} unlabeled images and fine-tuned with 1% of the labels.",
    "Qualitative results show sharper boundaries, fewer hallucinations & better temporal "
    "consistency.",
    "We discuss limitations, including failure cases under severe occlusion.",
)
_MODULES = (
    "cross-attention adapter", "frequency-aware decoder", "token merging block",
    "state-space encoder", "graph reasoning module", "prompt generator", "memory bank",
)  # fmt: skip


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _authors(rng: random.Random) -> str:
    count = min(int(rng.expovariate(1 / 4)) + 1, 25)
    names = []
    for _ in range(count):
        first = rng.choice(_TEX_FIRST) if rng.random() < 0.02 else rng.choice(_FIRST)
        last = rng.choice(_TEX_LAST) if rng.random() < 0.01 else rng.choice(_LAST)
        name = f"{first} {last}"
        if rng.random() < 0.02:
            name += " Jr."
        if rng.random() < 0.02:
            name += f" ({rng.choice(_AFFILIATIONS)})"
        names.append(name)
    return ", ".join(names)


def _title(rng: random.Random) -> str:
    head, noun, domain = (
        rng.choice(_TITLE_HEADS),
        rng.choice(_TITLE_NOUNS),
        rng.choice(_TITLE_DOMAINS),
    )
    shape = rng.random()
    if shape < 0.4:
        name = "".join(rng.choice("ABCDEFGHKLMNPRSTVXZ") for _ in range(rng.randint(3, 6)))
        return f"{name}: {head} {noun} for {domain}"
    if shape < 0.9:
        return f"{head} {noun} in {domain}"
    return f"{noun} & {rng.choice(_TITLE_NOUNS)}: Towards {head} Models of {domain}"


def _abstract(rng: random.Random, title: str) -> str:
    name = title.split(":")[0] if ":" in title else "our method"
    values = {
        "name": name,
        "head": rng.choice(_TITLE_HEADS).lower(),
        "task": rng.choice(_TITLE_NOUNS).lower(),
        "domain": rng.choice(_TITLE_DOMAINS).lower(),
        "module": rng.choice(_MODULES),
        "n_bench": rng.randint(3, 12),
        "gain": round(rng.uniform(0.5, 9.9), 1),
        "fps": rng.randint(12, 240),
        "count": f"{rng.randint(10, 999)},{rng.randint(0, 999):03d}",
    }
    target = rng.gauss(1200, 250)
    sentences = [_SENTENCES[0].format(**values)]
    while sum(map(len, sentences)) < target:
        sentences.append(rng.choice(_SENTENCES[1:]).format(**values))
    roll = rng.random()
    if roll < 0.30:
        user, repo = rng.choice(_LAST).lower().replace(" ", ""), name.lower().replace(" ", "-")
        user = "".join(c for c in user if c.isalnum()) or "lab"
        suffix = rng.choice(("", ".git", "/", "/tree/main"))
        sentences.append(f"Code is available at https://github.com/{user}/{repo}{suffix}.")
        if rng.random() < 0.3:
            sentences.append(f"Project page: https://{user}.github.io/{repo}/.")
    elif roll < 0.35:
        sentences.append("Code and models will be released upon acceptance.")
    abstract = " ".join(sentences)
    if rng.random() < 0.1:  # as submitted: wrapped at ~80 columns
        abstract = "\n".join(textwrap.wrap(abstract, 80, break_long_words=False))
    return abstract


def _entry(rng: random.Random, number: int) -> dict[str, object]:
    announce = _weighted(rng, ANNOUNCE_MIX)
    if announce in ("new", "cross"):
        arxiv_id, version = f"2402.{6000 + number:05d}", 1
    else:
        month = rng.choice(("2306", "2309", "2311", "2312", "2401"))
        arxiv_id, version = f"{month}.{rng.randint(1, 29999):05d}", rng.randint(2, 4)
    if announce.endswith("cross"):
        categories = [rng.choice(_CROSS_PRIMARY), "cs.CV"]
    else:
        categories = ["cs.CV"]
    categories += [c for c in rng.sample(_SECONDARY, rng.randint(0, 2)) if c not in categories]
    title = _title(rng)
    replacing = announce.startswith("replace")
    dois: list[str] = []
    if rng.random() < (0.25 if replacing else 0.05):
        dois.append(f"{rng.choice(_DOI_PREFIXES)}.2024.{rng.randint(100000, 999999)}")
        if rng.random() < 0.1:
            dois.append(f"10.48550/arXiv.{arxiv_id}")
    journal = None
    if rng.random() < (0.2 if replacing else 0.03):
        journal = f"{rng.choice(_JOURNALS)} {rng.randint(20, 47)} (2024) {rng.randint(1, 9999)}"
    return {
        "id": arxiv_id,
        "version": version,
        "announce": announce,
        "title": title,
        "abstract": _abstract(rng, title),
        "authors": _authors(rng),
        "categories": categories,
        "license": rng.choice(_LICENSES),
        "doi": " ".join(dois) or None,
        "journal": journal,
    }


def _rss_item(e: dict[str, object]) -> str:
    lines = [
        "    <item>",
        f"      <title>{escape(str(e['title']))}</title>",
        f"      <link>https://arxiv.org/abs/{e['id']}</link>",
        f"      <description>arXiv:{e['id']}v{e['version']} Announce Type: {e['announce']} \n"
        f"Abstract: {escape(str(e['abstract']))}</description>",
        f'      <guid isPermaLink="false">oai:arXiv.org:{e["id"]}v{e["version"]}</guid>',
        *(f"      <category>{c}</category>" for c in e["categories"]),  # type: ignore[attr-defined]
        f"      <pubDate>{DAY:%a, %d %b %Y} 00:00:00 -0500</pubDate>",
        f"      <arxiv:announce_type>{e['announce']}</arxiv:announce_type>",
        f"      <dc:rights>{e['license']}</dc:rights>",
    ]
    if e["doi"]:
        lines.append(f"      <arxiv:DOI>{e['doi']}</arxiv:DOI>")
    if e["journal"]:
        lines.append(
            f"      <arxiv:journal_reference>{escape(str(e['journal']))}</arxiv:journal_reference>"
        )
    lines += [f"      <dc:creator>{escape(str(e['authors']))}</dc:creator>", "    </item>"]
    return "\n".join(lines)


def _atom_entry(e: dict[str, object]) -> str:
    stamp = f"{DAY.isoformat()}T00:00:00-05:00"
    lines = [
        "  <entry>",
        f"    <id>oai:arXiv.org:{e['id']}v{e['version']}</id>",
        f"    <title>{escape(str(e['title']))}</title>",
        f"    <updated>{stamp}</updated>",
        f'    <link href="https://arxiv.org/abs/{e["id"]}" rel="alternate" type="text/html"/>',
        f"    <summary>arXiv:{e['id']}v{e['version']} Announce Type: {e['announce']} \n"
        f"Abstract: {escape(str(e['abstract']))}</summary>",
        *(
            f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>'
            for c in e["categories"]  # type: ignore[attr-defined]
        ),
        f"    <published>{stamp}</published>",
        f"    <arxiv:announce_type>{e['announce']}</arxiv:announce_type>",
        f"    <dc:rights>{e['license']}</dc:rights>",
    ]
    if e["journal"]:
        lines.append(
            f"    <arxiv:journal_reference>{escape(str(e['journal']))}</arxiv:journal_reference>"
        )
    if e["doi"]:
        lines.append(f"    <arxiv:DOI>{e['doi']}</arxiv:DOI>")
    lines += [f"    <dc:creator>{escape(str(e['authors']))}</dc:creator>", "  </entry>"]
    return "\n".join(lines)


def synth_feed(
    *, entries: int = 2000, fmt: str = "rss", seed: int = 0, category: str = "cs.CV"
) -> bytes:
    """One day's announcement feed for ``category``: ``entries`` items, ``fmt`` "rss" or "atom"."""
    if fmt not in ("rss", "atom"):
        raise ValueError(f"format must be 'rss' or 'atom', not {fmt!r}")
    rng = random.Random(seed)
    items = [_entry(rng, number) for number in range(1, entries + 1)]
    if fmt == "rss":
        head = (
            '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">\n'
            "  <channel>\n"
            f"    <title>{category} updates on arXiv.org</title>\n"
            f"    <link>http://rss.arxiv.org/rss/{category}</link>\n"
            f"    <description>{category} updates on the arXiv.org e-print archive.</description>\n"
            f'    <atom:link href="http://rss.arxiv.org/rss/{category}" rel="self" '
            'type="application/rss+xml"/>\n'
            "    <docs>http://www.rssboard.org/rss-specification</docs>\n"
            "    <language>en-us</language>\n"
            f"    <lastBuildDate>{DAY:%a, %d %b %Y} 05:00:00 +0000</lastBuildDate>\n"
            "    <managingEditor>rss-help@arxiv.org</managingEditor>\n"
            f"    <pubDate>{DAY:%a, %d %b %Y} 00:00:00 -0500</pubDate>\n"
            "    <skipDays>\n      <day>Saturday</day>\n      <day>Sunday</day>\n    </skipDays>\n"
        )
        body = "\n".join(map(_rss_item, items))
        tail = "\n  </channel>\n</rss>\n"
    else:
        head = (
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xml:lang="en-us">\n'
            f"  <id>http://rss.arxiv.org/atom/{category}</id>\n"
            f"  <title>{category} updates on arXiv.org</title>\n"
            f"  <updated>{DAY.isoformat()}T05:00:00.069589+00:00</updated>\n"
            f'  <link href="http://rss.arxiv.org/atom/{category}" rel="self" '
            'type="application/atom+xml"/>\n'
            f"  <subtitle>{category} updates on the arXiv.org e-print archive.</subtitle>\n"
        )
        body = "\n".join(map(_atom_entry, items))
        tail = "\n</feed>\n"
    return (head + body + tail).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--format", choices=("rss", "atom"), default="rss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--category", default="cs.CV")
    parser.add_argument("--output", type=Path, help="file to write; standard output if omitted")
    args = parser.parse_args(argv)
    data = synth_feed(entries=args.entries, fmt=args.format, seed=args.seed, category=args.category)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
