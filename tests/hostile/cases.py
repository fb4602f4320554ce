"""The hostile inputs every entry point is swept with: one named case a row.

To add a case, add a row to ``CASES``: every test module under tests/hostile/
runs it through each entry point it reaches (CLI search and show, the chat
commands, signed Slack slash commands, Discord interactions, a feed file and a
seed file rendered in Slack and Discord digests). ``expect`` says what a user
should see; the modules hold every entry point to the common outcome:

* CLI: exit code 0, 1 or 2, no traceback, at most one error line;
* chat: one reply, within the platform's limits, nothing it would ping or link;
* storage: a record whole or refused, never half-stored.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CASES", "IDS", "NUMBERS", "TIMEZONES", "Case"]


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    expect: str = "results or a one-line answer; shown as text, nothing pinged or linked"


_C = Case
CASES: tuple[Case, ...] = (
    # -- pings and mentions
    _C("at-everyone", "@everyone breast mri", "no ping: '@' gets an invisible joiner"),
    _C("at-here", "@here look at this", "no ping"),
    _C("slack-channel", "<!channel> breast", "shown as &lt;!channel&gt;, no ping"),
    _C("slack-here", "<!here> now", "no ping"),
    _C("slack-user", "<@U123> mri", "no mention"),
    _C("slack-channel-link", "<#C123|general>", "no channel link"),
    _C("slack-subteam", "<!subteam^S1> team", "no group ping"),
    _C("slack-date", "<!date^1392734382^{date}|x>", "no date token"),
    _C("discord-role", "<@&456> role", "no role ping"),
    _C("discord-nick", "<@!42> nick", "no mention"),
    _C("discord-user", "<@123456789012345678>", "no mention"),
    _C("discord-channel", "<#789> </papers show:1> <t:1700000000:R>", "no channel, command or time token"),
    _C("discord-emoji", "<:blobcat:123> <a:wave:456>", "no custom emoji"),
    # -- links
    _C("masked-link", "[arxiv.org](https://evil.example)", "no masked link"),
    _C("slack-fake-link", "<https://evil.example|arxiv.org>", "no link"),
    _C("bare-url", "see https://evil.example/x now", "not linked, not unfurled"),
    _C("javascript-url", "javascript:alert(1)", "not a link"),
    _C("long-url", "https://example.org/" + "x" * 5000, "not linked; within limits"),
    _C("discord-invite", "join discord.gg/abc", "no invite unfurl"),
    # -- markup
    _C("md-bold", "*bold* **bolder** _it_ __under__", "markers shown, not formatting"),
    _C("md-code", "`code` ``double``", "no code span"),
    _C("md-fence", "```py\nimport os\n```", "no code block"),
    _C("md-quote", "> quote\n>>> all quoted", "no quote"),
    _C("md-strike", "~strike~ ~~gone~~", "no strike-through"),
    _C("md-spoiler", "||spoiler||", "no spoiler"),
    _C("md-heading", "# Heading\n## h2\n-# sub", "no heading"),
    _C("md-list", "- item\n1. item", "no list"),
    _C("full-width-markers", "＞ ＊bold＊ ＿it＿ ｀c｀", "no look-alike formatting"),
    # -- unicode
    _C("zero-width", "bre\u200bast\u200c m\u200dri\ufeff", "one answer"),
    _C("rtl-override", "right \u202eevil\u202c left \u2066x\u2069", "bidi controls dropped"),
    _C("combining-flood", "e" + "\u0301" * 5000, "within limits"),
    _C("emoji-zwj", "👩‍🔬 🧑🏽‍💻 🇩🇪 🏳️‍🌈 :rotating_light:", "shown as written"),
    _C("cjk", "乳腺 MRI 深層学習 유방", "shown as written"),
    _C("homoglyph", "brеast mrі аrxiv.org", "no special meaning (Cyrillic letters)"),
    _C("invalid-surrogate", "lone \ud800 surrogate \udfff", "replaced, never a crash"),
    # -- control characters
    _C("null-byte", "breast\x00mri", "dropped or refused in one line"),
    _C("control-chars", "a\x01b\x07c\x08d\x7fe\x9bf", "dropped"),
    _C("terminal-clear", "\x1b[2J\x1b[H cleared", "the escape is not sent to a terminal"),
    _C("terminal-osc8", "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", "no hyperlink"),
    _C("crlf-injection", "breast\r\nX-Injected: 1\r\n\r\nmri", "one answer, no header"),
    _C("tabs-newlines", "breast\t\tmri\n\n\nct", "one answer"),
    # -- markup languages
    _C("html-script", "<script>alert(1)</script><img src=x onerror=alert(1)>", "shown as text"),
    _C("html-entities", "&amp;lt;b&amp;gt; &lt;already&gt; &#64;everyone &nbsp;", "entities shown literally"),
    _C("xml-entity", "&xxe; <!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", "shown as text"),
    # -- size
    _C("huge-string", "breast " * 15_000, "results or one line; within limits (about 100 KB)"),
    _C("ten-thousand-words", " ".join(f"w{n}" for n in range(10_000)), "results or one line"),
    _C("one-long-word", "x" * 100_000, "results or one line"),
    # -- query syntax
    _C("unbalanced-quote", '"breast mri', "results or one line"),
    _C("unbalanced-parens", "((breast mri", "results or one line"),
    _C("nested-parens", "(" * 1000 + "mri" + ")" * 1000, "results or one line, no recursion error"),
    _C("only-operators", "OR OR -", "results or one line"),
    _C("boolean-soup", "AND OR NOT NEAR( -- ++", "results or one line"),
    _C("unknown-filter", "col:x breast", "one line naming the filter"),
    _C("empty-filter", "author: cat: breast", "results or one line"),
    _C("bad-date-filter", "after:2024-13-45 before:yesterday", "one line naming the date"),
    _C("sql-injection", "'; DROP TABLE papers;--", "results or one line; the catalog intact"),
    _C("like-wildcards", "%_% 100%", "no match-everything"),
    _C("regex-metachar", r".*+?^$[]{}()|\\", "results or one line"),
    _C("tantivy-field", "title:breast abstract:mri", "results or one line"),
    _C("tantivy-fuzzy-boost", "breast~2 mri^2", "results or one line"),
    _C("tantivy-range", "[a TO z] {0 TO 9}", "results or one line"),
    _C("path-traversal", "../../etc/passwd", "results or one line"),
    _C("format-string", "%s%s%n {0} {__class__} ${HOME} $(id)", "shown as written"),
    _C("whitespace-only", " \t\u00a0\u3000 ", "a usage line"),
)

assert len({c.name for c in CASES}) == len(CASES)

# Paper ids a user may type (show ID, buttons).
IDS: tuple[str, ...] = (
    "../../etc/passwd", "2402.12345 extra", "2402.12345\x00", "%", "_", "'; DROP TABLE papers;--",
    "x" * 10_000, "\u202e2402.12345", "<@U123>", "-1", "",
)

# Numbers for limits and digest sizes.
NUMBERS: tuple[str, ...] = ("-1", "0", "101", "99999999999999999999999", "1e3", "NaN", "½", "٣")

# Timezones and schedules that do not exist.
TIMEZONES: tuple[str, ...] = (
    "08:30 Mars/Olympus", "08:30 ../../etc/passwd", "08:30 UTC+99", "25:61", "-1:00",
    "08:30 " + "Europe/" * 1000, "08:30 Europe/Berlin weekly Funday", "08:30\x00UTC",
)
